//! TODO(owner): module `hnsconf`, being written.
