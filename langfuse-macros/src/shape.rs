//! Inspecting the function: its return type's shape (`Result`, `impl Trait`, boxed streams and
//! iterators, their item type) and a body that is one boxed future.

use quote::ToTokens;
use syn::{Expr, ExprPath, GenericArgument, Path, PathArguments, Stmt, Type, TypeParamBound};

/// `Result<…>` (by its last path segment).
pub(crate) fn is_result(t: &Type) -> bool {
    match t {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
        Type::Paren(p) => is_result(&p.elem),
        Type::Group(g) => is_result(&g.elem),
        _ => false,
    }
}

pub(crate) fn contains_impl(t: &Type) -> bool {
    t.to_token_stream()
        .into_iter()
        .any(|tt| matches!(tt, proc_macro2::TokenTree::Ident(i) if i == "impl"))
}

pub(crate) enum Container {
    Impl,
    Box,
    PinBox,
    Other,
}

pub(crate) fn outer_container(t: &Type) -> Container {
    match t {
        Type::ImplTrait(_) => Container::Impl,
        Type::Path(p) => match p.path.segments.last() {
            Some(seg) if seg.ident == "Box" => Container::Box,
            Some(seg) if seg.ident == "Pin" => Container::PinBox,
            _ => Container::Other,
        },
        Type::Paren(p) => outer_container(&p.elem),
        Type::Group(g) => outer_container(&g.elem),
        _ => Container::Other,
    }
}

pub(crate) enum StreamKind {
    Stream,
    Iter,
}

fn impl_bound_name(t: &Type) -> Option<String> {
    if let Type::ImplTrait(it) = t {
        for b in &it.bounds {
            if let TypeParamBound::Trait(tr) = b {
                if let Some(seg) = tr.path.segments.last() {
                    let n = seg.ident.to_string();
                    if n == "Stream" || n == "Iterator" {
                        return Some(n);
                    }
                }
            }
        }
    }
    None
}

/// The kind the return type names: `impl Stream<…>` or `impl Iterator<…>`.
pub(crate) fn returned_kind(ret: Option<&Type>) -> Option<StreamKind> {
    match ret.and_then(impl_bound_name).as_deref() {
        Some("Stream") => Some(StreamKind::Stream),
        Some("Iterator") => Some(StreamKind::Iter),
        _ => None,
    }
}

/// The `Item = T` of `impl Stream<Item = T>` / `impl Iterator<Item = T>`.
pub(crate) fn item_type(t: &Type) -> Option<Type> {
    assoc_type(t, "Item")
}

/// Finds `Name = T` in the generic arguments anywhere in a type.
fn assoc_type(t: &Type, name: &str) -> Option<Type> {
    fn in_path(p: &Path, name: &str) -> Option<Type> {
        for seg in &p.segments {
            if let PathArguments::AngleBracketed(ab) = &seg.arguments {
                for a in &ab.args {
                    match a {
                        GenericArgument::AssocType(at) if at.ident == name => {
                            return Some(at.ty.clone())
                        }
                        GenericArgument::Type(t) => {
                            if let Some(x) = assoc_type(t, name) {
                                return Some(x);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        None
    }
    match t {
        Type::Path(p) => in_path(&p.path, name),
        Type::ImplTrait(it) => it.bounds.iter().find_map(|b| match b {
            TypeParamBound::Trait(tr) => in_path(&tr.path, name),
            _ => None,
        }),
        Type::TraitObject(to) => to.bounds.iter().find_map(|b| match b {
            TypeParamBound::Trait(tr) => in_path(&tr.path, name),
            _ => None,
        }),
        Type::Paren(p) => assoc_type(&p.elem, name),
        Type::Group(g) => assoc_type(&g.elem, name),
        _ => None,
    }
}

/// A function body that is one `Box::pin(async { … })` returning
/// `Pin<Box<dyn Future<Output = T> …>>`: what `#[async_trait]` 0.1 makes of an `async fn`
/// (`Box::pin(async move { … })` under `::core::pin::Pin<Box<dyn ::core::future::Future<…> +
/// Send + 'async_trait>>`), or the same written by hand in any spelling of those paths.
pub(crate) struct BoxedFuture<'a> {
    /// The function path of the call, as written (`Box::pin`, `::std::boxed::Box::pin`, …).
    pub(crate) pin_call: &'a ExprPath,
    /// The `async` block.
    pub(crate) future: &'a Expr,
    /// The `T` of `Output = T`.
    pub(crate) output: &'a Type,
}

/// Matches the body and the return type of [`BoxedFuture`] by their syntax trees.
pub(crate) fn boxed_future<'a>(
    stmts: &'a [Stmt],
    ret: Option<&'a Type>,
) -> Option<BoxedFuture<'a>> {
    let output = pinned_boxed_future_output(ret?)?;
    let [Stmt::Expr(body, None)] = stmts else {
        return None;
    };
    let Expr::Call(call) = peel_expr(body) else {
        return None;
    };
    let Expr::Path(pin_call) = peel_expr(&call.func) else {
        return None;
    };
    if pin_call.qself.is_some() || !ends_with(&pin_call.path, &["Box", "pin"]) {
        return None;
    }
    let mut args = call.args.iter();
    let (Some(future), None) = (args.next(), args.next()) else {
        return None;
    };
    let Expr::Async(_) = peel_expr(future) else {
        return None;
    };
    Some(BoxedFuture {
        pin_call,
        future,
        output,
    })
}

/// The `T` of `Pin<Box<dyn Future<Output = T> + …>>` (or `impl Future`), with any path to
/// `Pin`, `Box` and `Future`.
fn pinned_boxed_future_output(t: &Type) -> Option<&Type> {
    let boxed = only_type_arg(peel_type(t), "Pin")?;
    let future = only_type_arg(peel_type(boxed), "Box")?;
    let bounds = match peel_type(future) {
        Type::TraitObject(o) => &o.bounds,
        Type::ImplTrait(i) => &i.bounds,
        _ => return None,
    };
    bounds.iter().find_map(|b| {
        let TypeParamBound::Trait(tr) = b else {
            return None;
        };
        let seg = tr.path.segments.last()?;
        if seg.ident != "Future" {
            return None;
        }
        let PathArguments::AngleBracketed(ab) = &seg.arguments else {
            return None;
        };
        ab.args.iter().find_map(|a| match a {
            GenericArgument::AssocType(at) if at.ident == "Output" => Some(&at.ty),
            _ => None,
        })
    })
}

/// The one type argument of a path type whose last segment is `name<T>`.
fn only_type_arg<'a>(t: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(p) = t else { return None };
    if p.qself.is_some() {
        return None;
    }
    let seg = p.path.segments.last()?;
    if seg.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(ab) = &seg.arguments else {
        return None;
    };
    let mut args = ab.args.iter();
    match (args.next(), args.next()) {
        (Some(GenericArgument::Type(t)), None) => Some(t),
        _ => None,
    }
}

/// Whether the path's last segments are `names`, whatever comes before (`std::boxed::`, `::`).
fn ends_with(path: &Path, names: &[&str]) -> bool {
    path.segments.len() >= names.len()
        && path
            .segments
            .iter()
            .rev()
            .zip(names.iter().rev())
            .all(|(seg, name)| seg.ident == name)
}

/// A type without the parentheses and invisible groups around it.
fn peel_type(mut t: &Type) -> &Type {
    loop {
        t = match t {
            Type::Paren(p) => &p.elem,
            Type::Group(g) => &g.elem,
            _ => return t,
        };
    }
}

/// An expression without the parentheses and invisible groups around it.
fn peel_expr(mut e: &Expr) -> &Expr {
    loop {
        e = match e {
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            _ => return e,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;
    use syn::{parse_quote, Block};

    /// The output type `boxed_future` finds for this body and return type, as text.
    fn output_of(body: Block, ret: Type) -> Option<String> {
        boxed_future(&body.stmts, Some(&ret)).map(|b| b.output.to_token_stream().to_string())
    }

    #[test]
    fn the_body_async_trait_emits_is_a_boxed_future() {
        let body: Block = parse_quote!({
            Box::pin(async move {
                if let ::core::option::Option::Some(__ret) = ::core::option::Option::None::<u8> {
                    #[allow(unreachable_code)]
                    return __ret;
                }
                let __self = self;
                let __ret: u8 = { 3 };
                #[allow(unreachable_code)]
                __ret
            })
        });
        let ret: Type = parse_quote!(
            ::core::pin::Pin<
                Box<dyn ::core::future::Future<Output = u8> + ::core::marker::Send + 'async_trait>,
            >
        );
        assert_eq!(output_of(body, ret).as_deref(), Some("u8"));
    }

    #[test]
    fn any_spelling_of_the_paths_is_a_boxed_future() {
        let cases: [(Block, Type); 4] = [
            (
                parse_quote!({ ::std::boxed::Box::pin(async move { 1 }) }),
                parse_quote!(
                    std::pin::Pin<std::boxed::Box<dyn core::future::Future<Output = u8> + Send>>
                ),
            ),
            (
                parse_quote!({ std::boxed::Box::pin(async { 1 }) }),
                parse_quote!(Pin<Box<dyn Send + futures::Future<Output = u8> + 'static>>),
            ),
            (
                parse_quote!({ (Box::pin((async move { 1 }))) }),
                parse_quote!((Pin<(Box<(dyn Future<Output = u8>)>)>)),
            ),
            (
                parse_quote!({ Box::pin(async move { 1 }) }),
                parse_quote!(Pin<Box<impl Future<Output = u8>>>),
            ),
        ];
        for (body, ret) in cases {
            let shown = format!("{} -> {}", body.to_token_stream(), ret.to_token_stream());
            assert_eq!(output_of(body, ret).as_deref(), Some("u8"), "{shown}");
        }
    }

    #[test]
    fn other_bodies_and_return_types_are_not() {
        let future: Type = parse_quote!(Pin<Box<dyn Future<Output = u8> + Send>>);
        let not_boxed_futures: [(Block, Type); 9] = [
            // Not an async block: the argument may do work before the future exists.
            (parse_quote!({ Box::pin(make()) }), future.clone()),
            // More than the one expression.
            (
                parse_quote!({
                    let x = 1;
                    Box::pin(async move { x })
                }),
                future.clone(),
            ),
            (
                parse_quote!({
                    Box::pin(async move { 1 });
                }),
                future.clone(),
            ),
            // Not `Box::pin`.
            (parse_quote!({ Rc::pin(async move { 1 }) }), future.clone()),
            (parse_quote!({ pin(async move { 1 }) }), future.clone()),
            (parse_quote!({ Box::new(async move { 1 }) }), future),
            // Return types that only mention `Pin` and `Future` in their text.
            (
                parse_quote!({ Box::pin(async move { 1 }) }),
                parse_quote!(PinnedFuture<u8>),
            ),
            (
                parse_quote!({ Box::pin(async move { 1 }) }),
                parse_quote!(Pin<Box<dyn Stream<Item = u8>>>),
            ),
            (
                parse_quote!({ Box::pin(async move { 1 }) }),
                parse_quote!(Pin<Vec<Box<dyn Future<Output = u8>>>>),
            ),
        ];
        for (body, ret) in not_boxed_futures {
            let shown = format!("{} -> {}", body.to_token_stream(), ret.to_token_stream());
            assert_eq!(output_of(body, ret), None, "{shown}");
        }
    }
}
