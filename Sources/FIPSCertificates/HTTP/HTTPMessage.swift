import Foundation

/// An HTTP/1.1 request head as the server parsed it (bodies are not read: the endpoint serves no uploads).
public struct HTTPRequest: Sendable, Hashable {
    /// The method, e.g. `"GET"`.
    public var method: String
    /// The request target as sent, e.g. `"/status?verbose=1"`.
    public var target: String
    /// The path part of the target, e.g. `"/status"`.
    public var path: String
    /// The query part without `?`, if any.
    public var query: String?
    /// `"HTTP/1.1"` or `"HTTP/1.0"`.
    public var version: String
    /// Header fields in order, names as sent.
    public var headers: [HTTPField]

    /// The first value of a header (case-insensitive name).
    /// - Parameter name: The header name.
    /// - Returns: Its value, or `nil`.
    public func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.first { $0.name.lowercased() == n }?.value
    }
}

/// One header field.
public struct HTTPField: Sendable, Hashable {
    /// The name, e.g. `"Content-Type"`.
    public var name: String
    /// The value.
    public var value: String
    /// Creates a field.
    /// - Parameters:
    ///   - name: The name.
    ///   - value: The value.
    public init(_ name: String, _ value: String) { self.name = name; self.value = value }
}

/// An HTTP response a handler returns. The server adds the security headers, `Content-Length`, `Connection` and
/// `Date`, and removes `Server` and `X-Powered-By`.
public struct HTTPResponse: Sendable, Hashable {
    /// The status code, e.g. 200.
    public var status: Int
    /// Header fields (without the security headers, which the server adds).
    public var headers: [HTTPField]
    /// The body (not sent for HEAD, 204 and 304; its length is still announced for HEAD).
    public var body: Data

    /// Creates a response.
    /// - Parameters:
    ///   - status: The status code.
    ///   - headers: Extra header fields.
    ///   - body: The body.
    public init(status: Int, headers: [HTTPField] = [], body: Data = Data()) {
        self.status = status; self.headers = headers; self.body = body
    }

    /// A `text/plain; charset=utf-8` response.
    /// - Parameters:
    ///   - status: The status code.
    ///   - text: The body text (a newline is added).
    ///   - headers: Extra header fields.
    /// - Returns: The response.
    public static func text(_ status: Int, _ text: String, headers: [HTTPField] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [HTTPField("Content-Type", "text/plain; charset=utf-8")] + headers,
                     body: Data((text + "\n").utf8))
    }

    /// The standard reason phrase of a status code.
    /// - Parameter status: The code.
    /// - Returns: The phrase, e.g. `"Not Found"`.
    public static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 204: "No Content"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }
}

/// Parses and writes HTTP/1.1 heads. Strict: anything unusual is a 400, never a guess.
enum HTTPWire {
    /// Where the head ends (`\r\n\r\n`), as the index just past it.
    static func headEnd(_ buffer: [UInt8]) -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 3..<buffer.count where buffer[i] == 10 && buffer[i - 1] == 13 && buffer[i - 2] == 10 && buffer[i - 3] == 13 {
            return i + 1
        }
        return nil
    }

    private static let tokenCharacters = Set("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// Parses a request head (the bytes up to and including the blank line); `nil` if malformed.
    static func parseHead(_ bytes: ArraySlice<UInt8>) -> HTTPRequest? {
        // Only visible ASCII, spaces, tabs and CRLF: no NUL, no bare CR/LF tricks, no 8-bit bytes in the head.
        guard bytes.allSatisfy({ ($0 >= 32 && $0 < 127) || $0 == 9 || $0 == 13 || $0 == 10 }) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        guard lines.count >= 3, lines.removeLast().isEmpty, lines.removeLast().isEmpty else { return nil }
        let requestLine = lines.removeFirst()
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].utf8.allSatisfy({ tokenCharacters.contains($0) }),
              parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0", !parts[1].isEmpty,
              !parts[1].contains(where: { $0 == "\t" }) else { return nil }
        var headers: [HTTPField] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = line[..<colon]
            guard !name.isEmpty, name.utf8.allSatisfy({ tokenCharacters.contains($0) }) else { return nil } // also refuses obs-fold
            headers.append(HTTPField(String(name), line[line.index(after: colon)...].trimmingCharacters(in: CharacterSet(charactersIn: " \t"))))
        }
        let target = String(parts[1])
        var pathAndQuery = target
        if !target.hasPrefix("/") {
            // absolute-form (http://host/path) is legal; keep only its path and query.
            if let scheme = target.range(of: "://"), let slash = target[scheme.upperBound...].firstIndex(of: "/") {
                pathAndQuery = String(target[slash...])
            } else if target == "*" {
                pathAndQuery = "*"
            } else if target.contains("://") {
                pathAndQuery = "/"
            } else {
                return nil
            }
        }
        let noFragment = pathAndQuery.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? pathAndQuery
        let q = noFragment.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return HTTPRequest(method: String(parts[0]), target: target, path: String(q[0]),
                           query: q.count > 1 ? String(q[1]) : nil, version: String(parts[2]), headers: headers)
    }

    /// Serializes a response head and body.
    static func serialize(_ response: HTTPResponse, headOnly: Bool, close: Bool) -> Data {
        var out = "HTTP/1.1 \(response.status) \(HTTPResponse.reason(response.status))\r\n"
        for f in response.headers {
            // A handler cannot inject a line break into the head.
            let name = f.name.filter { $0 != "\r" && $0 != "\n" }
            let value = f.value.filter { $0 != "\r" && $0 != "\n" }
            out += "\(name): \(value)\r\n"
        }
        let noBody = response.status == 204 || response.status == 304 || (100..<200).contains(response.status)
        if !noBody { out += "Content-Length: \(response.body.count)\r\n" }
        out += "Date: \(httpDate(Date()))\r\n"
        out += close ? "Connection: close\r\n" : "Connection: keep-alive\r\n"
        out += "\r\n"
        var data = Data(out.utf8)
        if !headOnly && !noBody { data.append(response.body) }
        return data
    }

    /// An IMF-fixdate (RFC 9110 §5.6.7).
    static func httpDate(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return f.string(from: date)
    }
}
