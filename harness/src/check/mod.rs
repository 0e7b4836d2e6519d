//! Checks: XML canonicalisation and matching, multipart bodies.
