//! The HTTP servers the command line starts: `serve`'s HTTP/1.1 server for
//! the decoy handler ([`server`]) and the guard's reverse proxy ([`proxy`])
//! with its upstream pool. The CLI modules only parse options and start
//! them; everything on the wire lives here.

pub mod proxy;
pub mod server;
mod upstream;
