//! Tests: leader election and publication against a scripted kube-apiserver (`mock`), the
//! CRD against the chart's file, and the configuration.

mod config;
mod lease;
mod mock;
mod publish;
