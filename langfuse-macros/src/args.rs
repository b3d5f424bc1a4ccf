//! Parsing the options of `#[observe(...)]`.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::ToTokens;
use syn::parse::Parser;
use syn::{Ident, Lit, LitStr, Path};

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

/// The options of one `#[observe(...)]`, as written.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) seen: Vec<String>,
    pub(crate) name: Option<LitStr>,
    pub(crate) as_type: Option<&'static str>,
    pub(crate) capture_input: Option<bool>,
    pub(crate) capture_output: Option<bool>,
    pub(crate) skip: Vec<Ident>,
    pub(crate) skip_all: bool,
    pub(crate) metadata: Vec<(String, Lit)>,
    pub(crate) version: Option<LitStr>,
    pub(crate) err_level: Option<&'static str>,
    pub(crate) stream: bool,
    pub(crate) iterator: bool,
    pub(crate) krate: Option<Path>,
}

pub(crate) fn parse_args(attr: TokenStream2) -> syn::Result<Args> {
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
