import Foundation

/// Renders chat messages into a model's prompt. GGUF files carry their template as Jinja
/// (`tokenizer.chat_template`); rather than run Jinja, the known families are recognised by their
/// markers and rendered as their templates do — including a default system message a template
/// inserts when the conversation has none (SmolLM2's ChatML does). Anything else is an error that
/// names what was found, never a guess.
public struct ChatTemplate: Sendable, Equatable {
    public enum Family: String, Sendable { case chatml, llama3, mistral, gemma, zephyr }
    public let family: Family
    /// The system message the template adds when the first message is not a system message.
    public let defaultSystem: String?

    public struct Message: Sendable, Equatable {
        public var role: String
        public var content: String
        public init(role: String, content: String) { self.role = role; self.content = content }
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case unknown(String)
        case role(String, Family)
        public var description: String {
            switch self {
            case .unknown(let head):
                return "the model's chat template is not one Atelier knows (ChatML, Llama 3, Mistral [INST], Gemma, Zephyr); it begins \(head.debugDescription). Use --raw to send the prompt as is"
            case .role(let r, let f): return "the \(f.rawValue) template has no role '\(r)' (use system, user or assistant)"
            }
        }
    }

    public init(family: Family, defaultSystem: String? = nil) {
        self.family = family
        self.defaultSystem = defaultSystem
    }

    /// Recognises the template text of a GGUF file (nil or empty: ChatML, llama.cpp's fallback).
    public init(jinja: String?) throws(Failure) {
        guard let t = jinja, !t.isEmpty else { self.init(family: .chatml); return }
        if t.contains("<|im_start|>") {
            self.init(family: .chatml, defaultSystem: Self.insertedSystem(t, open: "<|im_start|>system\n", close: "<|im_end|>"))
        } else if t.contains("<|start_header_id|>") {
            self.init(family: .llama3)
        } else if t.contains("[INST]") {
            self.init(family: .mistral)
        } else if t.contains("<start_of_turn>") {
            self.init(family: .gemma)
        } else if t.contains("<|user|>") {
            self.init(family: .zephyr)
        } else {
            throw .unknown(String(t.prefix(60)))
        }
    }

    /// A literal system turn written inside the template's "no system message" branch.
    static func insertedSystem(_ t: String, open: String, close: String) -> String? {
        guard t.contains("!= 'system'") || t.contains("!= \"system\""),
              let a = t.range(of: open), let b = t.range(of: close, range: a.upperBound..<t.endIndex) else { return nil }
        return String(t[a.upperBound..<b.lowerBound])
    }

    /// The prompt for `messages`, ending with the assistant's opening when `addGenerationPrompt`.
    public func render(_ messages: [Message], addGenerationPrompt: Bool = true) throws(Failure) -> String {
        var out = ""
        let known: Set<String> = ["system", "user", "assistant", "tool"]
        for m in messages where !known.contains(m.role) { throw .role(m.role, family) }
        switch family {
        case .chatml:
            if let s = defaultSystem, messages.first?.role != "system" { out += "<|im_start|>system\n\(s)<|im_end|>\n" }
            for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .llama3:
            out += "<|begin_of_text|>"
            for m in messages { out += "<|start_header_id|>\(m.role == "tool" ? "ipython" : m.role)<|end_header_id|>\n\n\(m.content.trimmingCharacters(in: .whitespacesAndNewlines))<|eot_id|>" }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .mistral:
            // The system message goes in front of the first user turn, as Mistral's template puts it.
            var system = messages.first?.role == "system" ? messages[0].content : nil
            for m in messages where m.role != "system" {
                if m.role == "assistant" {
                    out += " \(m.content)</s>"
                } else {
                    let text = system.map { "\($0)\n\n\(m.content)" } ?? m.content
                    system = nil
                    out += "[INST] \(text) [/INST]"
                }
            }
            out = "<s>" + out
        case .gemma:
            var system = messages.first?.role == "system" ? messages[0].content : nil
            for m in messages where m.role != "system" {
                let role = m.role == "assistant" ? "model" : "user"
                let text = role == "user" ? (system.map { "\($0)\n\n\(m.content)" } ?? m.content) : m.content
                if role == "user" { system = nil }
                out += "<start_of_turn>\(role)\n\(text.trimmingCharacters(in: .whitespacesAndNewlines))<end_of_turn>\n"
            }
            out = "<bos>" + out
            if addGenerationPrompt { out += "<start_of_turn>model\n" }
        case .zephyr:
            for m in messages { out += "<|\(m.role)|>\n\(m.content)</s>\n" }
            if addGenerationPrompt { out += "<|assistant|>\n" }
        }
        return out
    }
}
