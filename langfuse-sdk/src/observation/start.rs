//! How `#[observe]` starts an observation: where it goes and its fields decided in one step.

use std::borrow::Cow;
use std::sync::Arc;

use crate::context::scope::{
    current_is_empty, enter_unsampled_root, with_current, Context, Parent,
};
use crate::core::{no_client, with_global_core, Core};
use crate::fields::ObsData;
use crate::fields::ObservationType;
use crate::ids::TraceId;
use crate::live::inner::{NewObs, ObsInner};
use crate::live::pool::{keep_spare, pop_spare};
use crate::observation::builder::place;
use crate::observation::handle::Observation;
/// A new observation's allocation while it is being filled in: a spare of this thread's
/// (checked unique once, then written through this reference), or a new one.
pub(crate) struct Fill<'a> {
    unique: Option<&'a mut ObsInner>,
    /// A new allocation, when there was no spare (uniqueness is checked again for it: rare).
    fresh: Option<Arc<ObsInner>>,
}

impl Fill<'_> {
    /// Fills in a new observation's fields.
    #[inline]
    pub(crate) fn set(&mut self, core: &Arc<Core>, new: NewObs) {
        match &mut self.unique {
            Some(o) => o.reset(core, new),
            None => self.fresh = Some(Arc::new(ObsInner::fresh(core, new))),
        }
    }

    /// The filled-in observation's core and fields (`None` before [`set`](Self::set)).
    #[inline]
    fn parts(&mut self) -> Option<(&Core, &mut ObsData)> {
        let o = match (&mut self.unique, &mut self.fresh) {
            (_, Some(f)) => Arc::get_mut(f)?,
            (Some(u), None) => &mut **u,
            (None, None) => return None,
        };
        Some((&o.core, o.data.get_mut().unwrap_or_else(|e| e.into_inner())))
    }
}

/// Where [`start_with`]'s observation goes, as its `place` decided.
///
/// `Recording` carries no type (the caller has it): see the layout check below.
pub(crate) enum Placement {
    /// Recorded: [`Fill::set`] was called.
    Recording,
    Unsampled(TraceId),
    Off,
}

// Layout: a tag word and a trace id. A type byte beside the trace id made the compiler copy the
// enum as a byte plus fifteen bytes at odd offsets, whose loads stall on store forwarding
// (docs/PERFORMANCE.md, "store forwarding").
const _: () = assert!(size_of::<Placement>() == 24 && align_of::<Placement>() == 8);

/// Starts an observation for `#[observe]`: `place` decides where it goes (from the thread's
/// context) and fills in its fields; then, outside every borrow `place` held, `capture` writes
/// its input (given the capture limit; run only when values are captured) and the start time is
/// read. The reused allocation is checked for uniqueness once, for all of it.
#[inline]
pub(crate) fn start_with(
    ty: ObservationType,
    place: impl FnOnce(&mut Fill<'_>) -> Placement,
    capture: impl FnOnce(usize, &mut ObsData),
) -> Observation {
    let mut spare = pop_spare();
    let mut fill = Fill {
        unique: spare.as_mut().and_then(Arc::get_mut),
        fresh: None,
    };
    let unrecorded = match place(&mut fill) {
        Placement::Recording => {
            let Some((core, d)) = fill.parts() else {
                return Observation::off();
            };
            if core.io_capture_enabled() {
                capture(core.field_limit(), d);
            }
            d.start = crate::clock::now();
            return match (fill.fresh, spare) {
                (Some(f), _) => Observation::recording(ty, f),
                (None, Some(a)) => Observation::recording(ty, a),
                (None, None) => Observation::off(),
            };
        }
        Placement::Unsampled(t) => Observation::unsampled(t),
        Placement::Off => Observation::off(),
    };
    // Not used: the spare goes back to the pool.
    drop(fill);
    if let Some(a) = spare {
        keep_spare(a);
    }
    unrecorded
}

/// Where an observation that `#[observe]` starts goes, its fields filled in when it is
/// recorded (see [`start_with`]).
#[inline]
pub(crate) fn place_observed(
    core: &Arc<Core>,
    fill: &mut Fill<'_>,
    ty: ObservationType,
    name: &'static str,
    ctx: &Context,
) -> Placement {
    match place(core, ctx, None) {
        None => Placement::Off,
        Some((t, _, false)) => Placement::Unsampled(t),
        Some((t, parent, true)) => {
            fill.set(
                core,
                NewObs::at(t, parent, ty, &ctx.attrs, Cow::Borrowed(name)),
            );
            Placement::Recording
        }
    }
}

/// [`observation`](crate::observation) and `start` at once, for `#[observe]`: where it goes is
/// decided from one look at the thread's context, then `capture` writes its input outside that
/// borrow (see [`start_with`]).
#[inline]
pub(crate) fn start_observed(
    ty: ObservationType,
    name: &'static str,
    capture: impl FnOnce(usize, &mut ObsData),
) -> Observation {
    let place = |fill: &mut Fill<'_>| {
        with_current(|ctx| match &ctx.parent {
            Parent::Recording(o) => place_observed(&o.core, fill, ty, name, ctx),
            // Children of an unsampled observation are unsampled: nothing else to decide.
            Parent::Unsampled(t) => Placement::Unsampled(*t),
            _ => {
                with_global_core(|c| place_observed(c, fill, ty, name, ctx)).unwrap_or_else(|| {
                    no_client();
                    Placement::Off
                })
            }
        })
        .unwrap_or(Placement::Off)
    };
    start_with(ty, place, capture)
}

/// For a sync observed call that starts a trace (no observation is current; otherwise `None`):
/// when the global client does not sample the trace, makes it current at once (the call
/// records nothing) and returns whether that worked. `None` when the trace is sampled or there
/// is nothing to decide: the full path then starts the observation, and draws the same trace
/// id (a sampled id is only peeked here).
#[inline(never)]
pub(crate) fn sample_root() -> Option<bool> {
    if !current_is_empty() {
        return None;
    }
    let t = with_global_core(|c| c.draw_unsampled_root()).flatten()?;
    Some(enter_unsampled_root(t))
}
