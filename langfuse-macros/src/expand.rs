//! Code generation: the function rewritten to run its body inside an observation.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{
    braced, Attribute, Block, FnArg, Ident, ItemFn, Pat, Path, ReturnType, Signature, Type,
    Visibility,
};

use crate::args::{parse_args, Args};
use crate::shape::{
    boxed_future, contains_impl, is_result, item_type, outer_container, returned_kind, BoxedFuture,
    Container, StreamKind,
};

/// The expansion of `#[observe(attr)] item`: the function running its body inside an
/// observation, or the errors.
pub(crate) fn expand(attr: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let args = match parse_args(attr) {
        Ok(args) => args,
        Err(e) => return e.to_compile_error(),
    };
    match syn::parse2::<ItemFn>(item.clone()) {
        Ok(func) => instrument(&args, func).unwrap_or_else(|e| e.to_compile_error()),
        Err(e) => uninstrumented(item, &e),
    }
}

/// An item that does not parse as a function. A function whose body alone does not parse (a
/// syntax error in it, or syntax newer than `syn`) is emitted as written, un-instrumented, with
/// an error saying so: the compiler then reports the user's own errors in the body, as it
/// would without the attribute, instead of one error of ours about the whole item.
fn uninstrumented(item: TokenStream2, err: &syn::Error) -> TokenStream2 {
    match syn::parse2::<FnWithUnparsedBody>(item.clone()) {
        Ok(f) => {
            let ours = syn::Error::new(
                f.name.span(),
                format!(
                    "#[observe] could not parse the body of `{}` ({err}), so it is compiled \
                     without an observation; fix the body's errors",
                    f.name
                ),
            )
            .to_compile_error();
            quote!(#item #ours)
        }
        Err(_) => syn::Error::new(
            item.clone()
                .into_iter()
                .next()
                .map_or(Span::call_site(), |t| t.span()),
            "#[observe] can only be applied to functions and methods with a body",
        )
        .to_compile_error(),
    }
}

/// A function whose signature parses, with its body's tokens left unparsed.
struct FnWithUnparsedBody {
    name: Ident,
}

impl Parse for FnWithUnparsedBody {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        input.call(Attribute::parse_outer)?;
        input.parse::<Visibility>()?;
        let sig: Signature = input.parse()?;
        let body;
        braced!(body in input);
        body.parse::<TokenStream2>()?;
        Ok(FnWithUnparsedBody { name: sig.ident })
    }
}

/// The function `func` running its body inside an observation.
fn instrument(args: &Args, func: ItemFn) -> syn::Result<TokenStream2> {
    if let Some(c) = &func.sig.constness {
        return Err(syn::Error::new(
            c.span(),
            "#[observe] cannot be applied to a `const fn`: observations record run-time timing and values",
        ));
    }
    if let (Some(a), true) = (&func.sig.asyncness, args.stream || args.iterator) {
        return Err(syn::Error::new(
            a.span(),
            "`stream` / `iterator` apply to sync functions returning a stream or an iterator: \
             an `async fn`'s observation ends when its future completes",
        ));
    }
    let captured = captured_params(args, &func.sig)?;
    let gen = Gen::new(args, &func.sig, &captured);

    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = &func;
    let ret_ty: Option<&Type> = match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, t) => Some(t),
    };
    let body = if sig.asyncness.is_some() {
        gen.async_body(ret_ty, block)
    } else if let Some(boxed) = boxed_future(&block.stmts, ret_ty) {
        gen.boxed_future_body(boxed)
    } else if let Some(kind) =
        forced_kind(args.stream, args.iterator).or_else(|| returned_kind(ret_ty))
    {
        gen.stream_body(kind, &sig.output, block)?
    } else {
        gen.sync_body(ret_ty, block)
    };

    let span = block.span();
    Ok(quote_spanned! {span=>
        #(#attrs)*
        #vis #sig {
            #body
        }
    })
}

/// The parameters recorded as input, by name (receivers and non-identifier patterns are not
/// captured), or an error for a `skip` naming no parameter.
fn captured_params(args: &Args, sig: &Signature) -> syn::Result<Vec<Ident>> {
    let mut params: Vec<Ident> = Vec::new();
    for input in &sig.inputs {
        if let FnArg::Typed(t) = input {
            if let Pat::Ident(pi) = &*t.pat {
                params.push(pi.ident.clone());
            }
        }
    }
    for s in &args.skip {
        if !params.iter().any(|p| p == s) {
            return Err(syn::Error::new(
                s.span(),
                format!(
                    "`skip({s})`: this function has no parameter named `{s}`; its parameters: {}",
                    if params.is_empty() {
                        "none".to_string()
                    } else {
                        params
                            .iter()
                            .map(|p| format!("`{p}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
            ));
        }
    }
    if args.skip_all {
        params.clear();
    } else {
        params.retain(|p| !args.skip.contains(p));
    }
    Ok(params)
}

/// What every kind of body is made of: the observation's start, its static attributes, and
/// how the output is recorded.
struct Gen<'a> {
    /// The support path ([`support_path`]).
    p: TokenStream2,
    args: &'a Args,
    captured: &'a [Ident],
    /// Each captured argument's JSON object key, with its colon.
    names: Vec<String>,
    ty_ident: Ident,
    obs_name: String,
    capture_output: bool,
    err_level: Ident,
}

impl<'a> Gen<'a> {
    fn new(args: &'a Args, sig: &Signature, captured: &'a [Ident]) -> Self {
        // A Rust identifier never needs escaping in JSON (no quote, backslash or control
        // character).
        let names = captured
            .iter()
            .map(|i| format!("\"{}\":", i.to_string().trim_start_matches("r#")))
            .collect();
        let obs_name = args
            .name
            .as_ref()
            .map(|n| n.value())
            .unwrap_or_else(|| sig.ident.to_string().trim_start_matches("r#").to_string());
        Gen {
            p: support_path(args.krate.as_ref()),
            args,
            captured,
            names,
            ty_ident: Ident::new(args.as_type.unwrap_or("Span"), Span::call_site()),
            obs_name,
            capture_output: args.capture_output.unwrap_or(true),
            err_level: Ident::new(args.err_level.unwrap_or("Error"), Span::call_site()),
        }
    }

    /// `let __lf_obs = <support>::<start_fn>(…)`, the arguments captured in the closure.
    fn start(&self, start_fn: TokenStream2) -> TokenStream2 {
        let Gen {
            p,
            captured,
            names,
            ty_ident,
            obs_name,
            ..
        } = self;
        let capture_input = self.args.capture_input.unwrap_or(true);
        quote! {
            let __lf_obs = #p::#start_fn(
                #p::ObservationType::#ty_ident,
                #obs_name,
                #capture_input,
                |__lf_inputs: &mut #p::Inputs| {
                    #[allow(unused_imports)]
                    use #p::{ViaDebug as _, ViaSerialize as _, ViaStr as _, ViaTypeName as _};
                    #( (&&&&#p::Wrap(&#captured)).__lf_capture_arg(#names, __lf_inputs); )*
                },
            );
        }
    }

    /// The `version` and `metadata` options, set when the observation records.
    fn statics(&self) -> TokenStream2 {
        let mut statics = Vec::new();
        if let Some(v) = &self.args.version {
            statics.push(quote!(__lf_obs.set_version(#v);));
        }
        for (k, v) in &self.args.metadata {
            statics.push(quote!(__lf_obs.set_metadata_value(#k, &#v);));
        }
        if statics.is_empty() {
            quote!()
        } else {
            quote!(if __lf_obs.is_recording() { #(#statics)* })
        }
    }

    /// A future's end: the output `__lf_out` recorded on `__lf_o`; an `Err` sets level and
    /// message.
    fn record(&self, out_ty: Option<&Type>) -> TokenStream2 {
        let Gen { p, err_level, .. } = self;
        let output = if self.capture_output {
            quote! {
                if #p::capture_output(__lf_o) {
                    #[allow(unused_imports)]
                    use #p::{ViaDebug as _, ViaSerialize as _, ViaStr as _, ViaTypeName as _};
                    #p::set_output(__lf_o, (&&&&#p::Wrap(__lf_v)).__lf_capture(#p::limit(__lf_o)));
                }
            }
        } else {
            quote!()
        };
        if out_ty.is_some_and(is_result) {
            quote! {
                match __lf_out {
                    ::core::result::Result::Ok(__lf_v) => { #output }
                    ::core::result::Result::Err(__lf_e) => {
                        #[allow(unused_imports)]
                        use #p::{ErrViaDebug as _, ErrViaDisplay as _, ErrViaTypeName as _};
                        #p::set_err(__lf_o, #p::Level::#err_level, (&&&#p::ErrWrap(__lf_e)).__lf_err_text());
                    }
                }
            }
        } else if out_ty.is_some() {
            quote! { let __lf_v = __lf_out; #output }
        } else {
            quote!()
        }
    }

    /// A sync function's end: the output is captured into a reused buffer as the observation
    /// ends (outside every SDK lock); an `Err` sets level and message.
    fn finish_sync(&self, out_ty: Option<&Type>) -> TokenStream2 {
        let Gen { p, err_level, .. } = self;
        let write = |v: TokenStream2| {
            if self.capture_output {
                quote! {
                    #p::finish(__lf_obs, |__lf_limit: usize, __lf_buf: &mut ::std::string::String| {
                        #[allow(unused_imports)]
                        use #p::{ViaDebug as _, ViaSerialize as _, ViaStr as _, ViaTypeName as _};
                        (&&&&#p::Wrap(#v)).__lf_capture_into(__lf_limit, __lf_buf)
                    })
                }
            } else {
                quote!(::core::mem::drop(__lf_obs))
            }
        };
        if out_ty.is_some_and(is_result) {
            let ok = write(quote!(__lf_v));
            quote! {
                match &__lf_out {
                    ::core::result::Result::Ok(__lf_v) => { #ok; }
                    ::core::result::Result::Err(__lf_e) => {
                        #[allow(unused_imports)]
                        use #p::{ErrViaDebug as _, ErrViaDisplay as _, ErrViaTypeName as _};
                        #p::set_err(&__lf_obs, #p::Level::#err_level, (&&&#p::ErrWrap(__lf_e)).__lf_err_text());
                        ::core::mem::drop(__lf_obs);
                    }
                }
            }
        } else if out_ty.is_some() {
            let w = write(quote!(&__lf_out));
            quote!(#w;)
        } else {
            quote!(::core::mem::drop(__lf_obs);)
        }
    }

    /// An `async fn`: its body as an observed future, awaited.
    fn async_body(&self, ret_ty: Option<&Type>, block: &Block) -> TokenStream2 {
        let p = &self.p;
        let start = self.start(quote!(start));
        let statics = self.statics();
        let rec = self.record(ret_ty);
        let inner = match ret_ty {
            Some(t) if !contains_impl(t) => quote!(async move {
                let __lf_r: #t = #block;
                #[allow(unreachable_code)]
                __lf_r
            }),
            None => quote!(async move {
                let __lf_r: () = #block;
                #[allow(unreachable_code)]
                __lf_r
            }),
            _ => quote!(async move #block),
        };
        quote! {
            #start
            #statics
            #p::Observed::new(
                __lf_obs,
                #inner,
                |__lf_o: &#p::ObservationRef, __lf_out| { #rec },
            )
            .await
        }
    }

    /// `#[async_trait]` (or a hand-written `Box::pin(async move { … })`): the future observed.
    fn boxed_future_body(&self, boxed: BoxedFuture<'_>) -> TokenStream2 {
        let p = &self.p;
        let BoxedFuture {
            pin_call,
            future,
            output,
        } = boxed;
        let start = self.start(quote!(start));
        let statics = self.statics();
        let rec = self.record(Some(output));
        // The output type, written on the closure: an `async` block whose output is only fixed
        // by the coercion to the return type (`async { Err(e) }`) has no type yet where the
        // output is captured.
        let out_param = if contains_impl(output) {
            quote!(__lf_out)
        } else {
            quote!(__lf_out: &#output)
        };
        quote! {
            #start
            #statics
            #pin_call(#p::Observed::new(
                __lf_obs,
                #future,
                |__lf_o: &#p::ObservationRef, #out_param| { #rec },
            ))
        }
    }

    /// A sync function returning a stream or an iterator: it is wrapped to keep the
    /// observation open until it ends, its items recorded.
    fn stream_body(
        &self,
        kind: StreamKind,
        output: &ReturnType,
        block: &Block,
    ) -> syn::Result<TokenStream2> {
        let p = &self.p;
        let ret_ty = match output {
            ReturnType::Default => None,
            ReturnType::Type(_, t) => Some(&**t),
        };
        let wrapper = match kind {
            StreamKind::Stream => quote!(#p::ObservedStream),
            StreamKind::Iter => quote!(#p::ObservedIter),
        };
        let item_param = match ret_ty.and_then(item_type) {
            Some(t) => quote!(__lf_item: &#t),
            None => quote!(__lf_item),
        };
        let wrap = match ret_ty.map(outer_container) {
            Some(Container::Impl) => quote!(),
            Some(Container::Box) => quote!(::std::boxed::Box::new),
            Some(Container::PinBox) => quote!(::std::boxed::Box::pin),
            _ => {
                return Err(syn::Error::new(
                    ret_ty.map_or(output.span(), |t| t.span()),
                    "`stream` / `iterator` need a return type `impl Stream<…>` / \
                     `impl Iterator<…>`, `Box<dyn …>` or `Pin<Box<dyn …>>`",
                ))
            }
        };
        let start = self.start(quote!(start));
        let statics = self.statics();
        Ok(quote! {
            #start
            #statics
            let __lf_inner = #p::run_sync(&__lf_obs, move || #block);
            #wrap(#wrapper::new(__lf_obs, __lf_inner, |#item_param, __lf_limit: usize| {
                #[allow(unused_imports)]
                use #p::{ViaDebug as _, ViaSerialize as _, ViaStr as _, ViaTypeName as _};
                (&&&&#p::Wrap(__lf_item)).__lf_capture(__lf_limit)
            }))
        })
    }

    /// Any other sync function: the body run as a closure inside the observation.
    fn sync_body(&self, ret_ty: Option<&Type>, block: &Block) -> TokenStream2 {
        let p = &self.p;
        let finish = self.finish_sync(ret_ty);
        let closure = match ret_ty {
            Some(t) if !contains_impl(t) => quote!(move || -> #t #block),
            _ => quote!(move || #block),
        };
        // The body runs now, in the caller's context: `start_sync` may skip entering a context.
        let start = self.start(quote!(start_sync));
        let statics = self.statics();
        quote! {
            // Tracing off: one relaxed load, then the body and nothing else. Inside an
            // unsampled trace: one more thread-local read, then the body. Starting an
            // unsampled trace: the id drawn, the trace made current, then the body.
            let __lf_obs = if #p::enabled() {
                #start
                __lf_obs
            } else {
                #p::SyncStart::Unrecorded
            };
            let __lf_body = #closure;
            let __lf_obs = match __lf_obs {
                #p::SyncStart::Recording(__lf_obs) => __lf_obs,
                // Nothing to record: the body as it is.
                #p::SyncStart::Unrecorded => return #p::call(__lf_body),
                #p::SyncStart::UnsampledRoot => return #p::run_unsampled(__lf_body),
            };
            #statics
            let __lf_out = #p::run_sync(&__lf_obs, __lf_body);
            #finish
            __lf_out
        }
    }
}

/// The path of the SDK's support module that every emitted SDK item is named through:
/// `<crate>::instrument`, with `<crate>` the `crate = …` option or `::langfuse_sdk` (the SDK's
/// public, documented primitives).
fn support_path(krate: Option<&Path>) -> TokenStream2 {
    let default: Path = syn::parse_quote!(::langfuse_sdk);
    let krate = krate.unwrap_or(&default);
    quote!(#krate::instrument)
}

/// The kind the `stream` / `iterator` options force, if one is set.
fn forced_kind(stream: bool, iterator: bool) -> Option<StreamKind> {
    if stream {
        Some(StreamKind::Stream)
    } else if iterator {
        Some(StreamKind::Iter)
    } else {
        None
    }
}
