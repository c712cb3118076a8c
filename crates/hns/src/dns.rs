//! TODO(owner): module `dns`, being written.
