//! Expanding the actor derives: an `impl Actor` whose `started` creates the sockets, attaches
//! them to their endpoints (attribute, or environment override), and wires them to the actor.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericArgument, Ident, PathArguments, Type};

use crate::attr::{self, ActorAttr, Endpoint};

/// The attribute's endpoints as a list in CZMQ's notation, every item with an explicit `@` or
/// `>` (checked here at compile time; parsed again by the same parser at run time).
fn defaults(endpoints: &[Endpoint]) -> TokenStream {
    let list = endpoints
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    quote!(#list)
}

/// `&[("name", "value"), ...]` of an actor's options and a socket's own.
fn options(all: &[(String, String)], own: &[(String, String)]) -> TokenStream {
    let pairs = all.iter().chain(own).map(|(n, v)| quote!((#n, #v)));
    quote!(&[#(#pairs),*])
}

/// The `impl Actor` around a setup future and what to do with its result.
fn actor_impl(
    input: &DeriveInput,
    setup: TokenStream,
    on_ready: TokenStream,
    attr: &ActorAttr,
) -> TokenStream {
    let name = &input.ident;
    let name_str = name.to_string();
    let (imp, ty, wh) = input.generics.split_for_impl();
    let on_start = attr.on_start.as_ref().map(|m| quote!(act.#m(ctx);));
    quote! {
        impl #imp ::actormq::__private::actix::Actor for #name #ty #wh {
            type Context = ::actormq::__private::actix::Context<Self>;

            fn started(&mut self, ctx: &mut Self::Context) {
                use ::actormq::__private::actix::{ActorContext as _, ActorFutureExt as _, AsyncContext as _, WrapFuture as _};
                let setup = async move { #setup };
                ctx.wait(setup.into_actor(self).map(|res, act, ctx| match res {
                    ::std::result::Result::Ok(ready) => {
                        #on_ready
                        #on_start
                    }
                    ::std::result::Result::Err(e) => {
                        let e: ::actormq::Error = e;
                        ::actormq::__private::tracing::error!(actor = #name_str, error = %e, "cannot start: stopping");
                        ctx.stop();
                    }
                }));
            }
        }
    }
}

/// Compile-time checks with errors that name the user's types, spanned at their tokens:
/// `bounds` are `(type, trait)` pairs. Skipped for generic actors.
fn checks(
    input: &DeriveInput,
    bounds: &[(TokenStream, TokenStream, proc_macro2::Span)],
) -> TokenStream {
    if !input.generics.params.is_empty() {
        return TokenStream::new();
    }
    let items = bounds.iter().enumerate().map(|(i, (ty, bound, span))| {
        let f = syn::Ident::new(&format!("__actormq_requires_{i}"), *span);
        quote_spanned! {*span=>
            fn #f<T: ?Sized + #bound>() {}
            let _ = #f::<#ty>;
        }
    });
    quote! {
        const _: () = {
            #[allow(dead_code)]
            fn __actormq_checks() {
                #(#items)*
            }
        };
    }
}

/// At least one endpoint; `role` is the worker socket's (`input`, `output`) or empty.
fn need_endpoints(
    a: &ActorAttr,
    input: &DeriveInput,
    key_example: &str,
    role: &str,
    eps: &[Endpoint],
) -> syn::Result<()> {
    if eps.is_empty() {
        let role = if role.is_empty() {
            String::new()
        } else {
            format!("__{}", role.to_uppercase())
        };
        return Err(attr::missing(
            a,
            input,
            &format!(
                "no endpoint: add one, e.g. `{key_example}` (it can be overridden at run time by ACTORMQ__{}{role}__ENDPOINTS)",
                input.ident.to_string().to_uppercase()
            ),
        ));
    }
    Ok(())
}

pub fn subscriber(input: &DeriveInput) -> syn::Result<TokenStream> {
    let a = attr::parse(
        input,
        "subscribe",
        "Reading, connect = \"tcp://localhost:5556\"",
    )?;
    let msg = a.message.clone().ok_or_else(|| {
        attr::missing(
            &a,
            input,
            "name the message type first: `#[subscribe(Reading, connect = \"...\")]`",
        )
    })?;
    need_endpoints(
        &a,
        input,
        "connect = \"tcp://localhost:5556\"",
        "",
        &a.endpoints,
    )?;
    let name_str = input.ident.to_string();
    let defaults = defaults(&a.endpoints);
    let prefix = match &a.prefix {
        Some(p) => quote!(#p),
        None => quote!(<#msg as ::actormq::typed::Topic>::PREFIX),
    };
    let policy = if a.deliver_errors {
        quote!(::actormq::typed::OnDecodeError::Deliver)
    } else {
        quote!(::actormq::typed::OnDecodeError::Log)
    };
    let opts = options(&a.options, &[]);
    let setup = quote! {
        let endpoints = ::actormq::typed::endpoints_for(#name_str, "", ::actormq::SocketType::Sub, #defaults)?;
        let socket = ::actormq::typed::socket_for(#name_str, "", ::actormq::SocketType::Sub, #opts)?;
        ::actormq::typed::attach(&socket, &endpoints).await?;
        let sub = ::actormq::typed::Subscriber::<#msg>::new(socket, #prefix).await?;
        ::actormq::Result::Ok(sub.on_decode_error(#policy))
    };
    let on_ready = quote!(ctx.add_message_stream(ready.into_stream()););
    let name = &input.ident;
    let mut bounds = vec![
        (
            quote!(#msg),
            quote!(::actormq::__private::serde::de::DeserializeOwned),
            msg.span(),
        ),
        (
            quote!(#name),
            quote!(::actormq::__private::actix::Handler<::actormq::Received<#msg>>),
            msg.span(),
        ),
    ];
    if a.prefix.is_none() {
        // the prefix defaults to the type's topic prefix
        bounds.push((quote!(#msg), quote!(::actormq::typed::Topic), msg.span()));
    }
    let checks = checks(input, &bounds);
    let imp = actor_impl(input, setup, on_ready, &a);
    Ok(quote!(#checks #imp))
}

/// The field of type `Outlet<T>` the publisher derive fills.
fn outlet_field(input: &DeriveInput) -> Option<(Ident, Option<Type>)> {
    let Data::Struct(data) = &input.data else {
        return None;
    };
    let Fields::Named(named) = &data.fields else {
        return None;
    };
    named.named.iter().find_map(|f| {
        let Type::Path(tp) = &f.ty else { return None };
        let last = tp.path.segments.last()?;
        if last.ident != "Outlet" {
            return None;
        }
        let inner = match &last.arguments {
            PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
                GenericArgument::Type(t) => Some(t.clone()),
                _ => None,
            }),
            _ => None,
        };
        Some((f.ident.clone()?, inner))
    })
}

pub fn publisher(input: &DeriveInput) -> syn::Result<TokenStream> {
    let a = attr::parse(input, "publish", "Reading, bind = \"tcp://*:5556\"")?;
    let msg = a.message.clone().ok_or_else(|| {
        attr::missing(
            &a,
            input,
            "name the message type first: `#[publish(Reading, bind = \"...\")]`",
        )
    })?;
    need_endpoints(&a, input, "bind = \"tcp://*:5556\"", "", &a.endpoints)?;
    let (field, _) = outlet_field(input).ok_or_else(|| {
        syn::Error::new(
            input.ident.span(),
            format!(
                "a publisher needs a field to publish through: add `out: actormq::typed::Outlet<{}>` to `{}`",
                quote!(#msg).to_string().replace(' ', ""),
                input.ident
            ),
        )
    })?;
    let name_str = input.ident.to_string();
    let defaults = defaults(&a.endpoints);
    let opts = options(&a.options, &[]);
    let setup = quote! {
        let endpoints = ::actormq::typed::endpoints_for(#name_str, "", ::actormq::SocketType::Pub, #defaults)?;
        let socket = ::actormq::typed::socket_for(#name_str, "", ::actormq::SocketType::Pub, #opts)?;
        ::actormq::typed::attach(&socket, &endpoints).await?;
        ::actormq::Result::Ok(::actormq::typed::Publisher::<#msg>::new(socket))
    };
    let on_ready = quote!(act.#field.attach(ready););
    let checks = checks(
        input,
        &[
            (
                quote!(#msg),
                quote!(::actormq::__private::serde::Serialize),
                msg.span(),
            ),
            (quote!(#msg), quote!(::actormq::typed::Topic), msg.span()),
        ],
    );
    let imp = actor_impl(input, setup, on_ready, &a);
    Ok(quote!(#checks #imp))
}

pub fn worker(input: &DeriveInput) -> syn::Result<TokenStream> {
    let example = "input = Task, output = Done, pull = \">tcp://localhost:5557\", push = \"tcp://localhost:5558\"";
    let a = attr::parse(input, "worker", example)?;
    let inp = a.input.clone().ok_or_else(|| {
        attr::missing(
            &a,
            input,
            "a worker needs `input = TaskType` (what it pulls)",
        )
    })?;
    let out = a.output.clone().ok_or_else(|| {
        attr::missing(
            &a,
            input,
            "a worker needs `output = ResultType` (what it pushes)",
        )
    })?;
    need_endpoints(
        &a,
        input,
        "pull = \">tcp://localhost:5557\"",
        "input",
        &a.pull,
    )?;
    need_endpoints(
        &a,
        input,
        "push = \"tcp://localhost:5558\"",
        "output",
        &a.push,
    )?;
    let name_str = input.ident.to_string();
    let (pull, push) = (defaults(&a.pull), defaults(&a.push));
    let concurrency = a.concurrency.unwrap_or(1);
    let in_opts = options(&a.options, &a.input_options);
    let out_opts = options(&a.options, &a.output_options);
    let setup = quote! {
        let input = ::actormq::typed::socket_for(#name_str, "input", ::actormq::SocketType::Pull, #in_opts)?;
        ::actormq::typed::attach(&input, &::actormq::typed::endpoints_for(#name_str, "input", ::actormq::SocketType::Pull, #pull)?).await?;
        let output = ::actormq::typed::socket_for(#name_str, "output", ::actormq::SocketType::Push, #out_opts)?;
        ::actormq::typed::attach(&output, &::actormq::typed::endpoints_for(#name_str, "output", ::actormq::SocketType::Push, #push)?).await?;
        ::actormq::Result::Ok((input, output))
    };
    let on_ready = quote! {
        let (input, output) = ready;
        let addr = ctx.address();
        ::actormq::__private::actix::spawn(async move {
            if let ::std::result::Result::Err(e) =
                ::actormq::typed::run_worker::<#inp, #out, Self>(input, output, addr, #concurrency).await
            {
                ::actormq::__private::tracing::warn!(actor = #name_str, error = %e, "worker stopped");
            }
        });
    };
    let name = &input.ident;
    let checks = checks(
        input,
        &[
            (
                quote!(#inp),
                quote!(::actormq::__private::serde::de::DeserializeOwned),
                inp.span(),
            ),
            (
                quote!(#out),
                quote!(::actormq::__private::serde::Serialize + ::actormq::typed::Topic),
                out.span(),
            ),
            (
                quote!(#name),
                quote!(::actormq::__private::actix::Handler<::actormq::typed::Work<#inp, #out>>),
                inp.span(),
            ),
        ],
    );
    let imp = actor_impl(input, setup, on_ready, &a);
    Ok(quote!(#checks #imp))
}

pub fn responder(input: &DeriveInput) -> syn::Result<TokenStream> {
    let example = "request = Ping, reply = Pong, bind = \"tcp://*:5555\"";
    let a = attr::parse(input, "respond", example)?;
    let req = a
        .request
        .clone()
        .ok_or_else(|| attr::missing(&a, input, "a responder needs `request = RequestType`"))?;
    let rep = a
        .reply
        .clone()
        .ok_or_else(|| attr::missing(&a, input, "a responder needs `reply = ReplyType`"))?;
    need_endpoints(&a, input, "bind = \"tcp://*:5555\"", "", &a.endpoints)?;
    let name_str = input.ident.to_string();
    let defaults = defaults(&a.endpoints);
    let opts = options(&a.options, &[]);
    let setup = quote! {
        let socket = ::actormq::typed::socket_for(#name_str, "", ::actormq::SocketType::Rep, #opts)?;
        ::actormq::typed::attach(&socket, &::actormq::typed::endpoints_for(#name_str, "", ::actormq::SocketType::Rep, #defaults)?).await?;
        ::actormq::Result::Ok(socket)
    };
    let on_ready =
        quote!(::actormq::typed::Responder::start::<#req, #rep, Self>(ready, ctx.address()););
    Ok(actor_impl(input, setup, on_ready, &a))
}
