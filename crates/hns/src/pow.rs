//! TODO(owner): module `pow`, being written.
