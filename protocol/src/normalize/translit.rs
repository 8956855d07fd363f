//! Placeholder: being written.

/// Canonical Latin readings of a text.
pub fn readings(text: &str) -> Vec<String> {
    vec![text.to_lowercase()]
}
