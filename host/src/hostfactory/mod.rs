//! Symphony Host Factory's provider-plugin contract: the five calls, their JSON inputs (object
//! and array forms, as Host Factory and IBM's documents use them) and their camelCase outputs,
//! compatible with the Python ORB's.

pub mod input;
pub mod output;
