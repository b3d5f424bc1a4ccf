//! `#[observe]`: trace a function as a Langfuse observation.
//!
//! Use it through `langfuse-sdk`, which re-exports it as `langfuse_sdk::observe`; the expansion
//! names nothing else you need to depend on.
//!
//! ```
//! use langfuse_sdk::observe;
//!
//! #[observe(as_type = "retriever")]
//! fn search(query: &str, k: usize) -> Vec<String> {
//!     vec![format!("doc about {query}"); k]
//! }
//!
//! #[observe(name = "answer-question", skip(api_key))]
//! async fn answer(question: String, api_key: String) -> Result<String, std::io::Error> {
//!     let docs = search(&question, 2); // a child observation
//!     Ok(docs.join(" "))
//! }
//! # let _ = answer("hi".into(), "k".into());
//! ```
//!
//! # What it records
//!
//! - **Input**: a JSON object of the parameters by name (receivers left out). Values that
//!   implement `Serialize` are captured as JSON, others through `Debug`, the rest as their type
//!   name — no bounds needed.
//! - **Output**: the return value (`Ok` of a `Result`). An `Err` sets level `ERROR` (or
//!   `err_level`), the status message to the error's text and the span status ERROR.
//! - **Panics** end the observation with level `ERROR` and the panic message, then keep unwinding.
//! - **Cancellation**: an async function's future dropped before completion ends its
//!   observation with level `WARNING` and the status message `cancelled: …`.
//! - **Nesting**: the observation is current while the body runs (per poll for async bodies), so
//!   observed calls inside become children; the outermost one starts the trace.
//! - **Streams and iterators**: a sync function returning `impl Stream<Item = T>` or
//!   `impl Iterator<Item = T>` (or marked `stream` / `iterator`) keeps its observation open until
//!   the stream ends or is dropped, and records the items as output (strings joined).
//!
//! With tracing disabled, an unsampled trace, or
//! `LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED=false`, no argument is serialised.
//!
//! # Options
//!
//! | option | meaning |
//! |---|---|
//! | `name = "…"` | observation name (default: the function's name) |
//! | `as_type = "…"` | `span` (default), `generation`, `agent`, `tool`, `chain`, `retriever`, `embedding`, `evaluator`, `guardrail` |
//! | `capture_input = false` | record no input |
//! | `capture_output = false` | record no output |
//! | `skip(a, b)` | leave these parameters out of the input |
//! | `skip_all` | record no parameters (an empty input object) |
//! | `metadata(key = "value", n = 1)` | static metadata |
//! | `version = "…"` | version of the code path |
//! | `err_level = "WARNING"` | level of an `Err` result (default `ERROR`) |
//! | `stream` / `iterator` | treat the returned value as a stream / iterator |
//! | `crate = path` | path of `langfuse_sdk` when it is re-exported under another name |

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{
    Expr, FnArg, GenericArgument, Ident, ItemFn, Lit, LitStr, Pat, Path, PathArguments, ReturnType,
    Stmt, Type, TypeParamBound,
};

const TYPES: &[(&str, &str)] = &[
    ("span", "Span"),
    ("generation", "Generation"),
    ("agent", "Agent"),
    ("tool", "Tool"),
    ("chain", "Chain"),
    ("retriever", "Retriever"),
    ("embedding", "Embedding"),
    ("evaluator", "Evaluator"),
    ("guardrail", "Guardrail"),
];
const LEVELS: &[(&str, &str)] = &[
    ("DEBUG", "Debug"),
    ("DEFAULT", "Default"),
    ("WARNING", "Warning"),
    ("ERROR", "Error"),
];
const OPTIONS: &str = "name, as_type, capture_input, capture_output, skip, skip_all, metadata, \
                       version, err_level, stream, iterator, crate";

#[derive(Default)]
struct Args {
    seen: Vec<String>,
    name: Option<LitStr>,
    as_type: Option<&'static str>,
    capture_input: Option<bool>,
    capture_output: Option<bool>,
    skip: Vec<Ident>,
    skip_all: bool,
    metadata: Vec<(String, Lit)>,
    version: Option<LitStr>,
    err_level: Option<&'static str>,
    stream: bool,
    iterator: bool,
    krate: Option<Path>,
}

fn parse_args(attr: TokenStream2) -> syn::Result<Args> {
    let mut a = Args::default();
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(|i| i.to_string())
            .or_else(|| meta.path.is_ident("crate").then(|| "crate".to_string()))
            .unwrap_or_else(|| meta.path.to_token_stream().to_string().replace(' ', ""));
        if a.seen.contains(&key) {
            return Err(meta.error(format!("duplicate option `{key}`")));
        }
        a.seen.push(key.clone());
        match key.as_str() {
            "name" => a.name = Some(meta.value()?.parse()?),
            "as_type" => a.as_type = Some(lookup(TYPES, &meta.value()?.parse()?, "as_type")?),
            "capture_input" => a.capture_input = Some(parse_bool(&meta)?),
            "capture_output" => a.capture_output = Some(parse_bool(&meta)?),
            "skip" => {
                meta.parse_nested_meta(|inner| {
                    let id = inner
                        .path
                        .get_ident()
                        .cloned()
                        .ok_or_else(|| inner.error("expected a parameter name"))?;
                    a.skip.push(id);
                    Ok(())
                })?;
            }
            "skip_all" => a.skip_all = true,
            "stream" => a.stream = true,
            "iterator" => a.iterator = true,
            "metadata" => {
                meta.parse_nested_meta(|inner| {
                    let k = inner
                        .path
                        .get_ident()
                        .ok_or_else(|| inner.error("expected `key = literal`"))?
                        .to_string();
                    let v: Lit = inner.value()?.parse()?;
                    a.metadata.push((k, v));
                    Ok(())
                })?;
            }
            "version" => a.version = Some(meta.value()?.parse()?),
            "err_level" => {
                a.err_level = Some(lookup(LEVELS, &meta.value()?.parse()?, "err_level")?)
            }
            "crate" => {
                let v = meta.value()?;
                a.krate = Some(if v.peek(LitStr) {
                    v.parse::<LitStr>()?.parse()?
                } else {
                    v.parse()?
                });
            }
            _ => {
                return Err(meta.error(format!("unknown option `{key}`; valid options: {OPTIONS}")));
            }
        }
        Ok(())
    });
    parser.parse2(attr)?;
    if a.stream && a.iterator {
        return Err(syn::Error::new(
            Span::call_site(),
            "`stream` and `iterator` cannot both be set",
        ));
    }
    Ok(a)
}

/// The identifier for a string option's value, or an error at the literal listing the valid ones.
fn lookup(table: &[(&str, &'static str)], lit: &LitStr, option: &str) -> syn::Result<&'static str> {
    let v = lit.value();
    table
        .iter()
        .find(|(k, _)| *k == v)
        .map(|(_, i)| *i)
        .ok_or_else(|| {
            let valid: Vec<String> = table.iter().map(|(k, _)| format!("\"{k}\"")).collect();
            syn::Error::new(
                lit.span(),
                format!("invalid {option} {v:?}; valid values: {}", valid.join(", ")),
            )
        })
}

fn parse_bool(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<bool> {
    let v = meta.value()?;
    let lit: syn::LitBool = v
        .parse()
        .map_err(|e| syn::Error::new(e.span(), "expected `true` or `false`"))?;
    Ok(lit.value)
}

/// Traces a function as a Langfuse observation; see the [crate docs](crate) for the options.
#[proc_macro_attribute]
pub fn observe(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr.into(), item.into()) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let args = parse_args(attr)?;
    let func: ItemFn = syn::parse2(item.clone()).map_err(|_| {
        syn::Error::new(
            item.clone()
                .into_iter()
                .next()
                .map_or(Span::call_site(), |t| t.span()),
            "#[observe] can only be applied to functions and methods with a body",
        )
    })?;
    if let Some(c) = &func.sig.constness {
        return Err(syn::Error::new(
            c.span(),
            "#[observe] cannot be applied to a `const fn`: observations record run-time timing and values",
        ));
    }
    let krate: Path = args
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::langfuse_sdk));
    let p = quote!(#krate::instrument);

    // Parameters by name (receivers and non-identifier patterns are not captured).
    let mut params: Vec<Ident> = Vec::new();
    for input in &func.sig.inputs {
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
    let captured: Vec<&Ident> = if args.skip_all {
        Vec::new()
    } else {
        params.iter().filter(|p| !args.skip.contains(p)).collect()
    };
    // Each argument's JSON object key, with its colon: a Rust identifier never needs escaping
    // in JSON (no quote, backslash or control character).
    let names: Vec<String> = captured
        .iter()
        .map(|i| format!("\"{}\":", i.to_string().trim_start_matches("r#")))
        .collect();

    let ty_ident = Ident::new(args.as_type.unwrap_or("Span"), Span::call_site());
    let obs_name = args.name.as_ref().map(|n| n.value()).unwrap_or_else(|| {
        func.sig
            .ident
            .to_string()
            .trim_start_matches("r#")
            .to_string()
    });
    let capture_input = args.capture_input.unwrap_or(true);
    let capture_output = args.capture_output.unwrap_or(true);
    let err_level = Ident::new(args.err_level.unwrap_or("Error"), Span::call_site());

    let start_with = |start_fn: TokenStream2| {
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
    };
    let start = start_with(quote!(start));
    let mut statics = Vec::new();
    if let Some(v) = &args.version {
        statics.push(quote!(__lf_obs.set_version(#v);));
    }
    for (k, v) in &args.metadata {
        statics.push(quote!(__lf_obs.set_metadata_value(#k, &#v);));
    }
    let statics = if statics.is_empty() {
        quote!()
    } else {
        quote!(if __lf_obs.is_recording() { #(#statics)* })
    };

    let record = |out_ty: Option<&Type>| -> TokenStream2 {
        let output = if capture_output {
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
    };

    // A sync function's end: the output is captured into a reused buffer as the observation
    // ends (outside every SDK lock); an `Err` sets level and message.
    let finish_sync = |out_ty: Option<&Type>| -> TokenStream2 {
        let write = |v: TokenStream2| {
            if capture_output {
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
    };

    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func.clone();
    let ret_ty: Option<Type> = match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, t) => Some((**t).clone()),
    };
    let has_impl = ret_ty.as_ref().is_some_and(contains_impl);

    let body: TokenStream2 = if sig.asyncness.is_some() {
        let rec = record(ret_ty.as_ref());
        let inner = match (&ret_ty, has_impl) {
            (Some(t), false) => quote!(async move {
                let __lf_r: #t = #block;
                #[allow(unreachable_code)]
                __lf_r
            }),
            (None, _) => quote!(async move {
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
    } else if let Some((pin_call, fut, out)) = boxed_future(&block.stmts, ret_ty.as_ref()) {
        // `#[async_trait]` (or a hand-written `Box::pin(async move { … })`): observe the future.
        let rec = record(out.as_ref());
        quote! {
            #start
            #statics
            #pin_call(#p::Observed::new(
                __lf_obs,
                #fut,
                |__lf_o: &#p::ObservationRef, __lf_out| { #rec },
            ))
        }
    } else if let Some(kind) = stream_kind(&args, ret_ty.as_ref()) {
        let wrapper = match kind {
            StreamKind::Stream => quote!(#p::ObservedStream),
            StreamKind::Iter => quote!(#p::ObservedIter),
        };
        let item = ret_ty.as_ref().and_then(item_type);
        let item_param = match &item {
            Some(t) => quote!(__lf_item: &#t),
            None => quote!(__lf_item),
        };
        let wrap = match ret_ty.as_ref().map(outer_container) {
            Some(Container::Impl) => quote!(),
            Some(Container::Box) => quote!(::std::boxed::Box::new),
            Some(Container::PinBox) => quote!(::std::boxed::Box::pin),
            _ => return Err(syn::Error::new(
                ret_ty.as_ref().map_or(sig.output.span(), |t| t.span()),
                "`stream` / `iterator` need a return type `impl Stream<…>` / `impl Iterator<…>`, \
                     `Box<dyn …>` or `Pin<Box<dyn …>>`",
            )),
        };
        quote! {
            #start
            #statics
            let __lf_inner = #p::run_sync(&__lf_obs, move || #block);
            #wrap(#wrapper::new(__lf_obs, __lf_inner, |#item_param, __lf_limit: usize| {
                #[allow(unused_imports)]
                use #p::{ViaDebug as _, ViaSerialize as _, ViaStr as _, ViaTypeName as _};
                (&&&&#p::Wrap(__lf_item)).__lf_capture(__lf_limit)
            }))
        }
    } else {
        let finish = finish_sync(ret_ty.as_ref());
        let closure = match (&ret_ty, has_impl) {
            (Some(t), false) => quote!(move || -> #t #block),
            _ => quote!(move || #block),
        };
        // The body runs now, in the caller's context: `start_sync` may skip entering a context.
        let start = start_with(quote!(start_sync));
        quote! {
            // Tracing off: one relaxed load, then the body and nothing else. Inside an
            // unsampled trace: one more thread-local read, then the body. Starting an
            // unsampled trace: the id drawn, the trace made current, then the body.
            let __lf_obs = if #p::enabled() {
                #start
                __lf_obs
            } else {
                #p::SyncStart::Plain
            };
            let __lf_body = #closure;
            let __lf_obs = match __lf_obs {
                #p::SyncStart::Observe(__lf_obs) => __lf_obs,
                // Nothing to record: the body as it is.
                #p::SyncStart::Plain => return #p::call(__lf_body),
                #p::SyncStart::StartedUnsampled => return #p::run_unsampled(__lf_body),
            };
            #statics
            let __lf_out = #p::run_sync(&__lf_obs, __lf_body);
            #finish
            __lf_out
        }
    };

    let span = block.span();
    Ok(quote_spanned! {span=>
        #(#attrs)*
        #vis #sig {
            #body
        }
    })
}

/// `Result<…>` (by its last path segment).
fn is_result(t: &Type) -> bool {
    match t {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
        Type::Paren(p) => is_result(&p.elem),
        Type::Group(g) => is_result(&g.elem),
        _ => false,
    }
}

fn contains_impl(t: &Type) -> bool {
    t.to_token_stream()
        .into_iter()
        .any(|tt| matches!(tt, proc_macro2::TokenTree::Ident(i) if i == "impl"))
}

enum Container {
    Impl,
    Box,
    PinBox,
    Other,
}

fn outer_container(t: &Type) -> Container {
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

enum StreamKind {
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

fn stream_kind(args: &Args, ret: Option<&Type>) -> Option<StreamKind> {
    if args.stream {
        return Some(StreamKind::Stream);
    }
    if args.iterator {
        return Some(StreamKind::Iter);
    }
    match ret.and_then(impl_bound_name).as_deref() {
        Some("Stream") => Some(StreamKind::Stream),
        Some("Iterator") => Some(StreamKind::Iter),
        _ => None,
    }
}

/// The `Item = T` of `impl Stream<Item = T>` / `impl Iterator<Item = T>`.
fn item_type(t: &Type) -> Option<Type> {
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
fn boxed_future(stmts: &[Stmt], ret: Option<&Type>) -> Option<(TokenStream2, Expr, Option<Type>)> {
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
