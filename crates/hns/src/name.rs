//! TODO(owner): module `name`, being written.
