//! TODO(owner): module `chain`, being written.
