import Foundation
import Text
import XCTest

/// The tokenizer matches transformers' `CLIPTokenizer` (what diffusers pipelines use) id for id.
final class CLIPTokenizerTests: XCTestCase {
    func cases() throws -> [[String: Any]] { try Fixtures.json("tokens.json") as! [[String: Any]] }

    func testFolderTokenizerMatchesTheReferenceOnEveryPrompt() throws {
        let tokenizer = try CLIPTokenizer(folder: Fixtures.tinySD + "/tokenizer")
        XCTAssertEqual(tokenizer.bos, 49406)
        XCTAssertEqual(tokenizer.eos, 49407)
        for c in try cases() {
            let prompt = c["prompt"] as! String
            let encoding = tokenizer.encode(prompt)
            XCTAssertEqual(encoding.ids, c["ids"] as! [Int], "prompt \(prompt.debugDescription)")
            XCTAssertEqual(encoding.fullLength, c["untruncated_length"] as! Int, "prompt \(prompt.debugDescription)")
        }
    }

    func testOpenAIVocabularyFileGivesTheSameIds() throws {
        guard let bpe = CLIPTokenizer.bootstrapVocabulary else { throw XCTSkip("the bootstrap has not fetched the CLIP vocabulary") }
        let fromFile = try CLIPTokenizer(bpeFile: bpe)
        let fromFolder = try CLIPTokenizer(folder: Fixtures.tinySD + "/tokenizer")
        XCTAssertEqual(fromFile.vocabularySize, 49408)
        for c in try cases() {
            let prompt = c["prompt"] as! String
            XCTAssertEqual(fromFile.encode(prompt), fromFolder.encode(prompt), "prompt \(prompt.debugDescription)")
        }
    }

    func testLongPromptsAreTruncatedToTheContextAndSaySo() throws {
        let tokenizer = try CLIPTokenizer(folder: Fixtures.tinySD + "/tokenizer")
        let e = tokenizer.encode(Array(repeating: "red star", count: 60).joined(separator: " "))
        XCTAssertEqual(e.ids.count, 77)
        XCTAssertEqual(e.ids.first, 49406)
        XCTAssertEqual(e.ids.last, 49407)
        XCTAssertTrue(e.truncated)
        XCTAssertEqual(e.fullLength, 122)
        XCTAssertFalse(tokenizer.encode("a red star").truncated)
    }

    func testDecodeReadsBackTheCleanedText() throws {
        let tokenizer = try CLIPTokenizer(folder: Fixtures.tinySD + "/tokenizer")
        XCTAssertEqual(tokenizer.decode(tokenizer.tokenize("A  Photo of a RED star!")), "a photo of a red star !")
    }
}
