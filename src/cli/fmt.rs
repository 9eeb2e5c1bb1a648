//! `funnelc fmt [--check] FILE...`
