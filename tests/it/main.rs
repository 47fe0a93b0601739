//! Integration tests, one binary (link once).

mod check;
mod credit_example;
