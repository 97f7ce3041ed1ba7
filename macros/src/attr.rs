//! Parsing and checking the actor attributes: `#[subscribe(Type, connect = "...", ...)]`.

use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Attribute, DeriveInput, Ident, LitInt, LitStr, Token, Type};

/// The endpoints of one socket, as parsed by the one parser of CZMQ's notation
/// (`actormq_transports::parse_endpoint_list`).
pub type Endpoint = actormq_transports::Attach;

/// Everything an actor attribute may say.
#[derive(Default)]
pub struct ActorAttr {
    /// The bare message type (`Reading` in `subscribe(Reading, ...)`).
    pub message: Option<Type>,
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
    pub concurrency: Option<usize>,
    pub on_start: Option<Ident>,
    pub deliver_errors: bool,
    /// Socket options by name (`options(curve_serverkey = "...", sndhwm = 10)`), for every
    /// socket of the actor; a worker's `input_options(...)` / `output_options(...)` for one.
    pub options: Vec<(String, String)>,
    pub input_options: Vec<(String, String)>,
    pub output_options: Vec<(String, String)>,
    /// The attribute itself, for errors about what is missing.
    pub tokens: Option<proc_macro2::TokenStream>,
}

/// Which list a key holds: one whose direction the key gives (`bind`, `connect`), or one in
/// CZMQ's notation for a socket type (`pull`, `push`: a bare endpoint does what CZMQ does for
/// that type).
enum Direction {
    Given(bool),
    Notation(actormq_transports::SocketType),
}

fn endpoints(lit: &LitStr, direction: Direction, into: &mut Vec<Endpoint>) -> syn::Result<()> {
    let text = lit.value();
    let parsed = match direction {
        Direction::Given(bind) => actormq_transports::parse_endpoint_list_as(&text, bind),
        Direction::Notation(socket_type) => {
            actormq_transports::parse_endpoint_list(&text, socket_type)
        }
    };
    match parsed {
        Ok(list) => {
            into.extend(list);
            Ok(())
        }
        Err(e) => Err(syn::Error::new(lit.span(), e.to_string())),
    }
}

/// Parses the attribute named `name` (required): an optional message type first, then
/// `key = value` pairs.
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
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            format!("#[derive] with #[{name}] makes an actor, and actors here cannot be generic: use a concrete type"),
        ));
    }
    let mut out = ActorAttr {
        tokens: Some(quote::quote!(#attr)),
        ..ActorAttr::default()
    };
    attr.parse_args_with(|stream: ParseStream| {
        // a leading type (anything but `key = ...`) is the message type
        let keyed = stream.peek(Ident) && stream.peek2(Token![=]);
        if !stream.is_empty() && !keyed {
            out.message = Some(stream.parse::<Type>()?);
            if !stream.is_empty() {
                stream.parse::<Token![,]>()?;
            }
        }
        while !stream.is_empty() {
            let key: Ident = stream.parse().map_err(|e| {
                syn::Error::new(e.span(), format!("expected `key = value` here, as in `#[{name}({example})]`"))
            })?;
            let which = key.to_string();
            if matches!(which.as_str(), "options" | "input_options" | "output_options") {
                let into = match which.as_str() {
                    "options" => &mut out.options,
                    "input_options" => &mut out.input_options,
                    _ => &mut out.output_options,
                };
                into.extend(options(stream)?);
                if !stream.is_empty() {
                    stream.parse::<Token![,]>()?;
                }
                continue;
            }
            stream.parse::<Token![=]>()?;
            match key.to_string().as_str() {
                "bind" | "connect" => endpoints(&stream.parse()?, Direction::Given(key == "bind"), &mut out.endpoints)?,
                "pull" => endpoints(&stream.parse()?, Direction::Notation(actormq_transports::SocketType::Pull), &mut out.pull)?,
                "push" => endpoints(&stream.parse()?, Direction::Notation(actormq_transports::SocketType::Push), &mut out.push)?,
                "prefix" => out.prefix = Some(stream.parse()?),
                "concurrency" => {
                    let n: LitInt = stream.parse()?;
                    let value: usize = n.base10_parse()?;
                    if value == 0 {
                        return Err(syn::Error::new(n.span(), "concurrency must be at least 1"));
                    }
                    out.concurrency = Some(value);
                }
                "on_start" => {
                    let lit: LitStr = stream.parse()?;
                    out.on_start = Some(lit.parse()?);
                }
                "on_decode_error" => {
                    let lit: LitStr = stream.parse()?;
                    out.deliver_errors = match lit.value().as_str() {
                        "log" => false,
                        "deliver" => true,
                        _ => return Err(syn::Error::new(lit.span(), "on_decode_error is \"log\" or \"deliver\"")),
                    };
                }
                "input" => out.input = Some(stream.parse()?),
                "output" => out.output = Some(stream.parse()?),
                "request" => out.request = Some(stream.parse()?),
                "reply" => out.reply = Some(stream.parse()?),
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown key `{other}` in #[{name}(...)]: expected e.g. `#[{name}({example})]`"),
                    ))
                }
            }
            if !stream.is_empty() {
                stream.parse::<Token![,]>()?;
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// `(name = value, ...)`: socket options by their names, each value a string, integer or
/// boolean literal, kept as text for `SocketOptions::set` (which checks them when the actor
/// starts).
fn options(stream: ParseStream) -> syn::Result<Vec<(String, String)>> {
    let content;
    syn::parenthesized!(content in stream);
    let mut list = Vec::new();
    while !content.is_empty() {
        let name: Ident = content.parse()?;
        content.parse::<Token![=]>()?;
        let value = match content.parse::<syn::Lit>()? {
            syn::Lit::Str(s) => s.value(),
            syn::Lit::Int(i) => i.base10_digits().to_string(),
            syn::Lit::Bool(b) => b.value.to_string(),
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "an option's value is a string, an integer or a boolean",
                ))
            }
        };
        list.push((name.to_string(), value));
        if !content.is_empty() {
            content.parse::<Token![,]>()?;
        }
    }
    Ok(list)
}

/// An error spanning the whole attribute.
pub fn missing(attr: &ActorAttr, input: &DeriveInput, what: &str) -> syn::Error {
    match &attr.tokens {
        Some(tokens) => syn::Error::new_spanned(tokens, what),
        None => syn::Error::new(input.ident.span(), what),
    }
}
