//! Parsing and checking the actor attributes: `#[subscribe(Type, connect = "...", ...)]`.

use syn::spanned::Spanned;
use syn::{Attribute, DeriveInput, Ident, LitInt, LitStr, Path, Type};

/// One endpoint as written: bind or connect, with its literal for error spans.
pub struct Endpoint {
    pub bind: bool,
    pub value: String,
}

/// Everything an actor attribute may say.
#[derive(Default)]
pub struct ActorAttr {
    /// The bare message type (`Reading` in `subscribe(Reading, ...)`).
    pub message: Option<Path>,
    /// Keyed types: `input`, `output`, `request`, `reply`.
    pub input: Option<Type>,
    pub output: Option<Type>,
    pub request: Option<Type>,
    pub reply: Option<Type>,
    /// `bind` / `connect` for the only socket.
    pub endpoints: Vec<Endpoint>,
    /// A worker's `pull` and `push`.
    pub pull: Vec<Endpoint>,
    pub push: Vec<Endpoint>,
    pub prefix: Option<LitStr>,
    pub concurrency: Option<LitInt>,
    pub on_start: Option<Ident>,
    pub deliver_errors: bool,
    /// The attribute itself, for errors about what is missing.
    pub tokens: Option<proc_macro2::TokenStream>,
}

fn endpoints(lit: &LitStr, bind: bool, into: &mut Vec<Endpoint>) -> syn::Result<()> {
    let text = lit.value();
    for part in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (bind, ep) = match part.strip_prefix('@') {
            Some(ep) => (true, ep),
            None => match part.strip_prefix('>') {
                Some(ep) => (false, ep),
                None => (bind, part),
            },
        };
        if !ep.contains("://") {
            return Err(syn::Error::new(
                lit.span(),
                format!("`{ep}` is not an endpoint: write it as ZeroMQ does, e.g. \"tcp://localhost:5556\" or \"ipc:///tmp/feed\""),
            ));
        }
        into.push(Endpoint {
            bind,
            value: ep.to_string(),
        });
    }
    if text.trim().is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            "empty endpoint: write e.g. \"tcp://localhost:5556\"",
        ));
    }
    Ok(())
}

/// Parses the attribute named `name` (required).
pub fn parse(input: &DeriveInput, name: &str, example: &str) -> syn::Result<ActorAttr> {
    let attrs: Vec<&Attribute> = input
        .attrs
        .iter()
        .filter(|a| a.path().is_ident(name))
        .collect();
    let Some(attr) = attrs.first() else {
        return Err(syn::Error::new(
            input.ident.span(),
            format!("missing `#[{name}(...)]` attribute: add e.g. `#[{name}({example})]`"),
        ));
    };
    if let Some(second) = attrs.get(1) {
        return Err(syn::Error::new(
            second.span(),
            format!("only one `#[{name}(...)]` attribute is allowed"),
        ));
    }
    let mut out = ActorAttr {
        tokens: Some(quote::quote!(#attr)),
        ..ActorAttr::default()
    };
    attr.parse_nested_meta(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        if meta.input.is_empty() || meta.input.peek(syn::Token![,]) {
            // a bare path: the message type
            if out.message.is_some() {
                return Err(meta.error("the message type is given twice"));
            }
            out.message = Some(meta.path.clone());
            return Ok(());
        }
        match key.as_str() {
            "bind" | "connect" => {
                endpoints(&meta.value()?.parse()?, key == "bind", &mut out.endpoints)
            }
            "pull" => endpoints(&meta.value()?.parse()?, false, &mut out.pull),
            "push" => endpoints(&meta.value()?.parse()?, false, &mut out.push),
            "prefix" => {
                out.prefix = Some(meta.value()?.parse()?);
                Ok(())
            }
            "concurrency" => {
                let n: LitInt = meta.value()?.parse()?;
                if n.base10_parse::<usize>()? == 0 {
                    return Err(syn::Error::new(n.span(), "concurrency must be at least 1"));
                }
                out.concurrency = Some(n);
                Ok(())
            }
            "on_start" => {
                let lit: LitStr = meta.value()?.parse()?;
                out.on_start = Some(lit.parse()?);
                Ok(())
            }
            "on_decode_error" => {
                let lit: LitStr = meta.value()?.parse()?;
                out.deliver_errors = match lit.value().as_str() {
                    "log" => false,
                    "deliver" => true,
                    _ => {
                        return Err(syn::Error::new(
                            lit.span(),
                            "on_decode_error is \"log\" or \"deliver\"",
                        ))
                    }
                };
                Ok(())
            }
            "input" => {
                out.input = Some(meta.value()?.parse()?);
                Ok(())
            }
            "output" => {
                out.output = Some(meta.value()?.parse()?);
                Ok(())
            }
            "request" => {
                out.request = Some(meta.value()?.parse()?);
                Ok(())
            }
            "reply" => {
                out.reply = Some(meta.value()?.parse()?);
                Ok(())
            }
            _ => Err(meta.error(format!(
                "unknown key `{key}` in #[{name}(...)]: expected e.g. `#[{name}({example})]`"
            ))),
        }
    })?;
    Ok(out)
}

/// An error spanning the whole attribute.
pub fn missing(attr: &ActorAttr, input: &DeriveInput, what: &str) -> syn::Error {
    match &attr.tokens {
        Some(tokens) => syn::Error::new_spanned(tokens, what),
        None => syn::Error::new(input.ident.span(), what),
    }
}
