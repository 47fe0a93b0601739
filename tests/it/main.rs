//! Integration tests, one binary (link once).

mod credit_example;
