//! Corpus tests: written later.
