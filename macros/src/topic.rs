//! `#[derive(Topic)]`: parse the template, check its fields, expand to `impl Topic`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Expr, ExprLit, Fields, Lit, LitStr, Meta};

/// A topic template: literal text and `{field}` placeholders.
struct Template {
    /// The literal text with each placeholder as `{}`.
    format: String,
    /// The placeholders' field names, in order.
    fields: Vec<String>,
    /// The text before the first placeholder.
    prefix: String,
}

fn parse_template(lit: &LitStr) -> syn::Result<Template> {
    let text = lit.value();
    let err = |m: String| syn::Error::new(lit.span(), m);
    let (mut format, mut fields, mut prefix) = (String::new(), Vec::new(), None);
    let mut rest = text.as_str();
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err(err(format!(
                "bad topic template {text:?}: `}}` without `{{`; fields are written `{{field}}`"
            )));
        }
        format.push_str(&rest[..open]);
        prefix.get_or_insert_with(|| format.clone());
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| {
            err(format!(
                "bad topic template {text:?}: `{{` is not closed; fields are written `{{field}}`"
            ))
        })?;
        let name = after[..close].trim();
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(err(format!(
                "bad topic template {text:?}: `{{{name}}}` must name a field of the struct"
            )));
        }
        format.push_str("{}");
        fields.push(name.to_string());
        rest = &after[close + 1..];
    }
    format.push_str(rest);
    let prefix = prefix.unwrap_or_else(|| format.clone());
    Ok(Template {
        format,
        fields,
        prefix,
    })
}

pub fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let attr = input
        .attrs
        .iter()
        .find(|a| a.path().is_ident("topic"))
        .ok_or_else(|| {
            syn::Error::new(
                name.span(),
                "missing topic: add `#[topic = \"name\"]` or `#[topic = \"name.{field}\"]`",
            )
        })?;
    let lit = match &attr.meta {
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => s.clone(),
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "the topic is a string: `#[topic = \"weather.{zipcode}\"]`",
                ))
            }
        },
        Meta::List(list) => list.parse_args::<LitStr>()?,
        Meta::Path(p) => {
            return Err(syn::Error::new_spanned(
                p,
                "write the topic: `#[topic = \"weather.{zipcode}\"]`",
            ))
        }
    };
    let template = parse_template(&lit)?;
    if !template.fields.is_empty() {
        let Data::Struct(data) = &input.data else {
            return Err(syn::Error::new(
                lit.span(),
                "`{field}` placeholders need a struct with named fields",
            ));
        };
        let Fields::Named(named) = &data.fields else {
            return Err(syn::Error::new(
                lit.span(),
                "`{field}` placeholders need a struct with named fields",
            ));
        };
        for f in &template.fields {
            if !named
                .named
                .iter()
                .any(|field| field.ident.as_ref().is_some_and(|i| i == f))
            {
                let known: Vec<String> = named
                    .named
                    .iter()
                    .filter_map(|f| f.ident.as_ref().map(ToString::to_string))
                    .collect();
                return Err(syn::Error::new(
                    lit.span(),
                    format!("topic template names `{{{f}}}`, but `{name}` has no field `{f}` (fields: {})", known.join(", ")),
                ));
            }
        }
    }
    let (imp, ty, wh) = input.generics.split_for_impl();
    let prefix = &template.prefix;
    let topic_body = if template.fields.is_empty() {
        quote!(::std::string::String::from(#prefix))
    } else {
        let format = &template.format;
        let fields = template.fields.iter().map(|f| format_ident!("{}", f));
        quote!(::std::format!(#format, #(self.#fields),*))
    };
    Ok(quote! {
        impl #imp ::actormq::typed::Topic for #name #ty #wh {
            const PREFIX: &'static str = #prefix;
            fn topic(&self) -> ::std::string::String {
                #topic_body
            }
        }
    })
}
