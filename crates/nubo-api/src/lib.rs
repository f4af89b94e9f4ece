//! nubo-api
