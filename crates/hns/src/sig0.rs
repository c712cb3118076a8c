//! TODO(owner): module `sig0`, being written.
