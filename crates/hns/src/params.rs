//! TODO(owner): module `params`, being written.
