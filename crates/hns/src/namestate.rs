//! TODO(owner): module `namestate`, being written.
