//! Whole-node tests live in tests.rs.
