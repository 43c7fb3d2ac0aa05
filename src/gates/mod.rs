//! Workflow gates (placeholder until the engine lands).
