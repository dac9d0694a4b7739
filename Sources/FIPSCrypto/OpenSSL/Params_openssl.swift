/// Names of `OSSL_PARAM` keys as static C strings.
///
/// An `OSSL_PARAM` keeps a raw pointer to its key. The key macros import into Swift as `String`, whose bridged
/// C string lives only for one call, so keys are spelled here as `StaticString`s (stable for the whole process).
enum ParamKey {
    static func c(_ s: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
    }
    static var name: UnsafePointer<CChar> { c("name") }            // OSSL_PROV_PARAM_NAME
    static var version: UnsafePointer<CChar> { c("version") }      // OSSL_PROV_PARAM_VERSION
    static var buildInfo: UnsafePointer<CChar> { c("buildinfo") }  // OSSL_PROV_PARAM_BUILDINFO
    static var status: UnsafePointer<CChar> { c("status") }        // OSSL_PROV_PARAM_STATUS
    static var digest: UnsafePointer<CChar> { c("digest") }        // OSSL_MAC_PARAM_DIGEST, OSSL_KDF_PARAM_DIGEST
    static var mode: UnsafePointer<CChar> { c("mode") }            // OSSL_KDF_PARAM_MODE
    static var key: UnsafePointer<CChar> { c("key") }              // OSSL_KDF_PARAM_KEY
    static var salt: UnsafePointer<CChar> { c("salt") }            // OSSL_KDF_PARAM_SALT
    static var info: UnsafePointer<CChar> { c("info") }            // OSSL_KDF_PARAM_INFO
    static var password: UnsafePointer<CChar> { c("pass") }        // OSSL_KDF_PARAM_PASSWORD
    static var iterations: UnsafePointer<CChar> { c("iter") }      // OSSL_KDF_PARAM_ITER
    static var group: UnsafePointer<CChar> { c("group") }          // OSSL_PKEY_PARAM_GROUP_NAME
    static var pub: UnsafePointer<CChar> { c("pub") }              // OSSL_PKEY_PARAM_PUB_KEY
    // Decoder input type and structure: OSSL_DECODER_CTX keeps these pointers, so they must be static too.
    static var pemInput: UnsafePointer<CChar> { c("PEM") }
    static var derInput: UnsafePointer<CChar> { c("DER") }
    static var subjectPublicKeyInfo: UnsafePointer<CChar> { c("SubjectPublicKeyInfo") }
}
