//! Tamga host driver: transports (PC/SC readers, an in-process emulated card),
//! the APDU channel, a typed PIV client, and NCA enrolment.
//!
//! ```no_run
//! use tamga::piv::{Piv, Pin};
//! use tamga::transport;
//!
//! let mut card = Piv::new(transport::open(Some("emu:/tmp/card.flash"))?);
//! card.select()?;
//! println!("serial {}", card.serial()?);
//! card.verify_pin(&Pin::new(b"123456")?)?;
//! # Ok::<(), tamga::Error>(())
//! ```

pub mod agent;
pub mod apdu;
pub mod audit;
pub mod ca;
pub mod certinfo;
pub mod cms;
#[cfg(feature = "local-ca")]
pub mod demo;
pub mod enroll;
pub mod error;
pub mod piv;
pub mod rng;
pub mod secrets;
pub mod signer;
pub mod status;
pub mod transport;
pub mod xml;

pub use error::{Error, Result};
pub use tamga_pki as pki;
