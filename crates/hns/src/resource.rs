//! TODO(owner): module `resource`, being written.
