//! nubo-iam
