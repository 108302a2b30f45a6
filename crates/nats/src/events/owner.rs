//! Handler owners on other nodes: an [`Owner`] standing for a remote
//! process, so that a handler it owns is removed when it exits, or with
//! `noconnection` when its node is lost.

use arbor_genevent::Owner;

use crate::call::RemoteCallError;
use crate::node::Node;
use crate::wire::GlobalPid;

impl Node {
    /// An owner for [`AddOpts::owner`](arbor_genevent::AddOpts::owner)
    /// that stands for the process `owner` on any node: the manager
    /// removes the handler with
    /// [`RemoveReason::OwnerExited`](arbor_genevent::RemoveReason::OwnerExited)
    /// and the owner's exit reason, which is `noconnection` when the
    /// owner's node goes down (a local proxy, see [`Node::proxy`]). No
    /// removal notice is sent to the remote process.
    ///
    /// # Errors
    ///
    /// As [`Node::proxy`]: [`RemoteCallError::NoConnection`] if the owner's
    /// node is not up, [`RemoteCallError::NoProcess`] for a pid of an
    /// earlier incarnation.
    ///
    /// # OTP
    ///
    /// A supervised handler (`add_sup_handler`) whose owner is on another
    /// node: it is removed with `{'EXIT', Pid, noconnection}` when the
    /// connection is lost.
    pub fn remote_owner(&self, owner: &GlobalPid) -> Result<Owner, RemoteCallError> {
        let proxy = self.proxy(owner)?;
        Ok(Owner::silent(proxy))
    }
}
