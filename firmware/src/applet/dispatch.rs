//! Dispatch: a parsed command, past the selection check, to its handler.

use embedded_storage::nor_flash::NorFlash;
use rand_core::CryptoRng;
use tamga_spec::{Status, defaults};

use super::state::Core;
use crate::command::Command;
use crate::crypto::P256;
use crate::response::Outgoing;

impl<F: NorFlash, R: CryptoRng, E: P256> Core<F, R, E> {
    /// Parse and run one whole command (chains reassembled); the response
    /// goes into `out`.
    pub(super) fn execute(
        &mut self,
        header: [u8; 3],
        data: &[u8],
        out: &mut Outgoing,
    ) -> Result<(), Status> {
        let [ins, p1, p2] = header;
        let cmd = Command::parse(ins, p1, p2, data)?;
        let auth = core::mem::take(&mut self.session.auth);
        if !self.session.selected && !matches!(cmd, Command::Select { .. }) {
            return Err(Status::ConditionsOfUseNotSatisfied);
        }
        match cmd {
            Command::Select { aid, fci } => self.select(aid, fci, out),
            Command::GetData { tag } => self.get_data(tag, out),
            Command::PutData { tag, content } => self.put_data(tag, content),
            Command::Verify(action) => self.verify(action),
            Command::ChangeReference { puk, old, new } => self.change_reference(puk, old, new),
            Command::ResetRetryCounter { puk, new_pin } => self.reset_retry_counter(puk, new_pin),
            Command::AuthenticateManagement { alg, template } => {
                self.authenticate_mgmt(alg, template, auth, out)
            }
            Command::UseKey {
                alg,
                slot,
                template,
            } => self.use_key(alg, slot, template, out),
            Command::Generate {
                slot,
                alg,
                pin_policy,
                touch_policy,
            } => self.generate(slot, alg, pin_policy, touch_policy, out),
            // A GET RESPONSE with nothing pending (handled before dispatch otherwise).
            Command::GetResponse => Err(Status::ConditionsOfUseNotSatisfied),
            Command::GetVersion => out.bytes(&defaults::COMPAT_VERSION),
            Command::GetSerial => out.bytes(&self.id.serial.to_be_bytes()),
            Command::GetMetadata { key } => self.metadata(key, out),
            Command::SetManagementKey { touch, key } => self.set_mgmt(touch, key),
            Command::SetPinRetries { pin, puk } => self.set_pin_retries(pin, puk),
            Command::Reset => self.reset_card(),
            Command::ImportKey { alg, slot, data } => self.import(alg, slot, data),
            // Attestation is later work.
            Command::Attest { .. } => Err(Status::InstructionNotSupportedOrInvalid),
        }
    }
}
