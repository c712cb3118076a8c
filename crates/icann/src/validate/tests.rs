//! Unit tests of the validator (in tests/ for the network paths).
