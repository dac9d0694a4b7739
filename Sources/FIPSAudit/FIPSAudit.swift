// FIPSAudit — under construction in this change.
