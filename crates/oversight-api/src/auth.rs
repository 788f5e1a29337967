//! Authorisation as extractors: a handler states the role it needs in its signature (`_: Reader`,
//! `Analyst(caller)`, `Admin(caller)`), and a request without it never reaches the handler's body. The check
//! itself is [`AppState::authorize`]: a key that is given must be valid even where none is needed.

use crate::error::ApiError;
use crate::state::{AppState, Caller, Role};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $need:expr) => {
        $(#[$doc])*
        // Not every handler needs to know who called (only those that audit).
        #[allow(dead_code)]
        pub(crate) struct $name(pub Caller);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
                let caller = st.authorize(&parts.headers, $need).await?;
                if let Some(slot) = parts.extensions.get::<crate::telemetry::CallerSlot>() {
                    let _ = slot.0.set(caller.name.clone());
                }
                Ok($name(caller))
            }
        }
    };
}

role_extractor!(
    /// A read: public when `api.public_reads` is on, a viewer key otherwise.
    Reader,
    None
);
role_extractor!(
    /// An analyst key or higher (imports, policy events, jurisdictions, rejects, schedule runs).
    Analyst,
    Some(Role::Analyst)
);
role_extractor!(
    /// An admin key (the audit log).
    Admin,
    Some(Role::Admin)
);
