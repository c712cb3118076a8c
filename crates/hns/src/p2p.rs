//! TODO(owner): module `p2p`, being written.
