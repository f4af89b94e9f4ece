//! nubo-ec2
