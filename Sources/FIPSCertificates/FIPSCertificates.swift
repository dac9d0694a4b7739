// FIPSCertificates — under construction in this change.
