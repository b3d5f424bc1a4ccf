//! Inspecting the function: its return type's shape (`Result`, `impl Trait`, boxed streams and
//! iterators, their item type) and a body that is one boxed future.

use proc_macro2::TokenStream as TokenStream2;
use quote::ToTokens;
use syn::{Expr, GenericArgument, Path, PathArguments, Stmt, Type, TypeParamBound};

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

/// A body that is one `Box::pin(<future>)` in a function returning `Pin<Box<dyn Future<…>>>`:
/// the call's path, the future, and the future's output type if written.
pub(crate) fn boxed_future(
    stmts: &[Stmt],
    ret: Option<&Type>,
) -> Option<(TokenStream2, Expr, Option<Type>)> {
    let ret = ret?;
    let rs = ret.to_token_stream().to_string();
    if !(rs.contains("Pin") && rs.contains("Future")) {
        return None;
    }
    let last = match stmts {
        [Stmt::Expr(e, None)] => e,
        _ => return None,
    };
    let Expr::Call(call) = last else { return None };
    let Expr::Path(fp) = &*call.func else {
        return None;
    };
    if fp
        .path
        .segments
        .last()
        .map(|s| s.ident != "pin")
        .unwrap_or(true)
        || call.args.len() != 1
    {
        return None;
    }
    let fut = call.args.first()?.clone();
    let out = assoc_type(ret, "Output");
    Some((fp.to_token_stream(), fut, out))
}
