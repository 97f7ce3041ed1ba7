//! Integration tests, examples and benchmarks of actormq.
