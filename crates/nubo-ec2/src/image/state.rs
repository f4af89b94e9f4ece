//! The image lifecycle (AWS's `ImageState`): `pending` while its content is
//! produced, then `available` or `failed`; `deregistered` is the answer of
//! `DeregisterImage`, whose row then disappears.

use nubo_core::Error;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageState {
    Pending,
    Available,
    Invalid,
    Deregistered,
    Failed,
}

impl ImageState {
    pub const ALL: [ImageState; 5] = [
        ImageState::Pending,
        ImageState::Available,
        ImageState::Invalid,
        ImageState::Deregistered,
        ImageState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ImageState::Pending => "pending",
            ImageState::Available => "available",
            ImageState::Invalid => "invalid",
            ImageState::Deregistered => "deregistered",
            ImageState::Failed => "failed",
        }
    }

    /// Whether an image may go from `self` to `to`.
    pub fn can_become(self, to: ImageState) -> bool {
        use ImageState::*;
        match (self, to) {
            (Pending, Available | Failed | Deregistered) => true,
            (Pending, Pending | Invalid) => false,
            (Available, Invalid | Deregistered) => true,
            (Available, Pending | Available | Failed) => false,
            (Invalid, Deregistered) => true,
            (Invalid, Pending | Available | Invalid | Failed) => false,
            (Failed, Deregistered) => true,
            (Failed, Pending | Available | Invalid | Failed) => false,
            (Deregistered, _) => false,
        }
    }

    /// `to`, when the lifecycle allows it.
    pub fn transition(self, to: ImageState) -> Result<ImageState, Error> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(Error::client(
                "IncorrectState",
                format!(
                    "The image cannot go from state '{}' to '{}'.",
                    self.as_str(),
                    to.as_str()
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ImageState::{self, *};

    #[test]
    fn every_pair_is_decided() {
        let allowed = [
            (Pending, Available),
            (Pending, Failed),
            (Pending, Deregistered),
            (Available, Invalid),
            (Available, Deregistered),
            (Invalid, Deregistered),
            (Failed, Deregistered),
        ];
        for from in ImageState::ALL {
            for to in ImageState::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
                assert_eq!(from.transition(to).is_ok(), from.can_become(to));
            }
        }
    }
}
