// FIPSVault — under construction in this change.
