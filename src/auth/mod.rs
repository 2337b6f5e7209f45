//! Who is calling: password hashing, session cookies and API tokens, the `Principal`
//! extractor, and sign-in throttling.

mod client;
pub mod password;
mod principal;
pub mod secret;
pub mod throttle;
mod token_cache;

pub use client::client_address;
pub use principal::{cookie_value, Credential, Principal, SESSION_COOKIE};
pub use token_cache::TokenCache;
