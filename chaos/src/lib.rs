//! Chaos drills for task-manager: experiment files, the HPA algorithm, Chaos Mesh
//! manifests for a Kubernetes cluster, and a lab of the whole stack on one machine.

pub mod experiment;
pub mod hpa;
pub mod journal;
pub mod kubernetes;
pub mod lab;
pub mod load;
pub mod measures;
pub mod reminders;
pub mod report;
pub mod runner;
