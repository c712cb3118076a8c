//! TODO(owner): module `urkel`, being written.
