import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  amzDate,
  type AwsCredentials,
  canonicalHeaders,
  canonicalQueryString,
  canonicalRequest,
  canonicalUri,
  credentialScope,
  presignRequest,
  sha256Hex,
  signature,
  signingKey,
  signRequest,
  type SigV4Request,
  stringToSign,
  uriEncode,
} from "./sigv4.ts";

/**
 * The aws-sig-v4-test-suite, in the form AWS's C runtime keeps it
 * (github.com/awslabs/aws-c-auth, tests/aws-signing-test-suite/v4/<case>/):
 * each case's request (request.txt, here as a SigV4Request), its context
 * (context.json: normalize, sign_body, a session token) and the expected
 * canonical request, string to sign and signature, both signed in headers
 * (header-*.txt) and presigned (query-*.txt, X-Amz-Expires 3600).
 * post-sts-header-after is left out (it signs without the session token
 * and adds it afterwards, which this signer does not do); get-vanilla-query,
 * post-header-key-case and post-vanilla-empty-query-value are the same
 * request and values as get-vanilla, post-vanilla and post-vanilla-query.
 */
const SUITE_CREDENTIALS: AwsCredentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const SUITE_DATE = new Date("2015-08-30T12:36:00Z");
const SUITE_REGION = "us-east-1";
const SUITE_SERVICE = "service";

interface Expected {
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
}

interface Vector {
  name: string;
  request: SigV4Request;
  /** context.json's "normalize": false. */
  normalizePath?: boolean;
  /** context.json's "sign_body": true (x-amz-content-sha256 is signed). */
  signBody?: boolean;
  sessionToken?: string;
  header: Expected;
  presigned: Expected;
}

const SUITE: Vector[] = [
  {
    name: "get-header-key-duplicate",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/",
      "headers": [["My-Header1", "value2"], ["My-Header1", "value2"], [
        "My-Header1",
        "value1",
      ]],
    },
    header: {
      canonicalRequest:
        "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\ndc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
      signature:
        "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
    },
    presigned: {
      canonicalRequest:
        "GET\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host%3Bmy-header1\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n\nhost;my-header1\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nfe8b58fb44117d598520befc07c144a5699c661a8db78f9ce4caee1655dec813",
      signature:
        "3349ee0b81b4b589da0ff28a395c3591e04de515651dd74f298fa992d1507a97",
    },
  },
  {
    name: "get-header-value-multiline",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/",
      "headers": [["My-Header1", "value1\n  value2\n     value3"]],
    },
    header: {
      canonicalRequest:
        "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1 value2 value3\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\ne99419459a677bc11de234014be3c4e72c1ea5b454ceb58b613061f5d7a162e8",
      signature:
        "cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd",
    },
    presigned: {
      canonicalRequest:
        "GET\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host%3Bmy-header1\nhost:example.amazonaws.com\nmy-header1:value1 value2 value3\n\nhost;my-header1\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n0e73c10e35324b4d215da4bb70be61d13a3d30d569be4ed6e8fd8948965341ca",
      signature:
        "e6f5def831211aca02987a44b96826706278c7bc078112ae0263659c5b2f2d56",
    },
  },
  {
    name: "get-header-value-order",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/",
      "headers": [["My-Header1", "value4"], ["My-Header1", "value1"], [
        "My-Header1",
        "value3",
      ], ["My-Header1", "value2"]],
    },
    header: {
      canonicalRequest:
        "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
      signature:
        "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
    },
    presigned: {
      canonicalRequest:
        "GET\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host%3Bmy-header1\nhost:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\n\nhost;my-header1\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nf4d3f13084ba7664111670ce26458291d3e0c620acd9384f8cd6b60d8e83423e",
      signature:
        "313720e71ca6202fdcfa9b20f88de01a4eb0638a83c833b1c184359a4eda864e",
    },
  },
  {
    name: "get-header-value-trim",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/",
      "headers": [["My-Header1", " value1"], ["My-Header2", ' "a   b   c"']],
    },
    header: {
      canonicalRequest:
        'GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:"a b c"\nx-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\na726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
      signature:
        "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
    },
    presigned: {
      canonicalRequest:
        'GET\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host%3Bmy-header1%3Bmy-header2\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:"a b c"\n\nhost;my-header1;my-header2\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n84c9e353b6161b689210977f93b93e6a7182f9ecb2ceae8af8c3d86b080a88ae",
      signature:
        "e7bb0fd515e125e1aec2ecc4c0c17484fb06f6846b927c35e46005dd3df3acd4",
    },
  },
  {
    name: "get-relative-normalized",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/example/..",
    },
    header: {
      canonicalRequest:
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
      signature:
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    },
    presigned: {
      canonicalRequest:
        "GET\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb7705b4aa3cb8e8f5e1e0b3d4c0b64030797a313c8ceee43e33117cc43eadc5",
      signature:
        "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d",
    },
  },
  {
    name: "get-relative-relative-normalized",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/example1/example2/../..",
    },
    header: {
      canonicalRequest:
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
      signature:
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    },
    presigned: {
      canonicalRequest:
        "GET\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb7705b4aa3cb8e8f5e1e0b3d4c0b64030797a313c8ceee43e33117cc43eadc5",
      signature:
        "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d",
    },
  },
  {
    name: "get-relative-relative-unnormalized",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/example1/example2/../..",
    },
    normalizePath: false,
    header: {
      canonicalRequest:
        "GET\n/example1/example2/../..\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n76115030c0f3ff06c20fdff5ceb6d5e0b835a1743e00b94fea7c7f381269437b",
      signature:
        "dc33e0856fd4baca4d7aa2146c38958283844764f38c74252a333df5e613003b",
    },
    presigned: {
      canonicalRequest:
        "GET\n/example1/example2/../..\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n13b7758115ec070fe36a7ae9d754154ad73f6ee9a5eac022494857d0e7effc18",
      signature:
        "b45db0bfd1cf15003493b733e33aa208dd981bd0e63037a6ed953f71d2118a16",
    },
  },
  {
    name: "get-relative-unnormalized",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/example/..",
    },
    normalizePath: false,
    header: {
      canonicalRequest:
        "GET\n/example/..\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n0511f456aa502b456d135fcb9d749374a55228f9dbeedda1eacf659e05b0615b",
      signature:
        "eca7ead57bb5aa5c8e28007acd4ff04e1ff9a0ff3b237ec1554a184887ff9282",
    },
    presigned: {
      canonicalRequest:
        "GET\n/example/..\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n6e02e2dba21d6f269bae339b86ff27a4b7bbc9d88c482abccbfbf8a49d602482",
      signature:
        "cbcb213b928a077e43275df47b500f1dfaa864ab3f5a18f6b95f4ff0938167ee",
    },
  },
  {
    name: "get-slash-dot-slash-normalized",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/./",
    },
    header: {
      canonicalRequest:
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
      signature:
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    },
    presigned: {
      canonicalRequest:
        "GET\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb7705b4aa3cb8e8f5e1e0b3d4c0b64030797a313c8ceee43e33117cc43eadc5",
      signature:
        "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d",
    },
  },
  {
    name: "get-slash-dot-slash-unnormalized",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/./",
    },
    normalizePath: false,
    header: {
      canonicalRequest:
        "GET\n/./\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nd67825e2268bd77a97c7688b8d72c31a3c1855b309808505ba0a9747d2465aa7",
      signature:
        "68714168e6557f8f2de0ef956fc24dc2593a4bd2961f8df51898d8a134695145",
    },
    presigned: {
      canonicalRequest:
        "GET\n/./\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n21b2da17873f30c1a7410efdc271738b318ccc2c9c6fbe1289fc242aeb1a8ae1",
      signature:
        "a9b13e8f3484d9505bf1a6f347219f8f35b0fe8f128ceea597efc146a3dfe90c",
    },
  },
  {
    name: "get-slash-normalized",
    request: { "method": "GET", "host": "example.amazonaws.com", "path": "//" },
    header: {
      canonicalRequest:
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
      signature:
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    },
    presigned: {
      canonicalRequest:
        "GET\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb7705b4aa3cb8e8f5e1e0b3d4c0b64030797a313c8ceee43e33117cc43eadc5",
      signature:
        "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d",
    },
  },
  {
    name: "get-slash-pointless-dot-normalized",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/./example",
    },
    header: {
      canonicalRequest:
        "GET\n/example\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702",
      signature:
        "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5",
    },
    presigned: {
      canonicalRequest:
        "GET\n/example\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n88dd73bb06de69cb042dbb82cadbb4fce1a2623615d94520c271614abf94e738",
      signature:
        "35034b1a0bdd969f346975386daf8aedfd4976573b8348cf4f67eaa41c5857de",
    },
  },
  {
    name: "get-slash-pointless-dot-unnormalized",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/./example",
    },
    normalizePath: false,
    header: {
      canonicalRequest:
        "GET\n/./example\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n73895e0e829507e28e39fd24669aedc2434a8e179e547e3c075b42921f952cdb",
      signature:
        "beb03f223f7deae4146464f06e29eebbee9c8afbe15c290cf07aa8b119e14cff",
    },
    presigned: {
      canonicalRequest:
        "GET\n/./example\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\ncb23444939471187ac1f0fb25d437337af0d5f48b5ae0ede5baa3727c8c6af92",
      signature:
        "72b11f16d9530b18204bfb71f2d6ab085894c0ed8d352730a6e76234c58b5e10",
    },
  },
  {
    name: "get-slash-unnormalized",
    request: { "method": "GET", "host": "example.amazonaws.com", "path": "//" },
    normalizePath: false,
    header: {
      canonicalRequest:
        "GET\n//\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n80cb39203d058af815de2b79250ff56e1b73eb9b4718c86556cdc6f150c5d209",
      signature:
        "c88bcd3d312d75078c0cd961d6deae3f4c754924b01669efcfcb439fd5e5b76e",
    },
    presigned: {
      canonicalRequest:
        "GET\n//\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\ne10a01494cafa1f2207c4de80c69b7a36d6f2d282aa63ee64a5ca50e175cf730",
      signature:
        "b2a9542809db687769200f56a844a03f2bd0291d6eb90232d5101c6a579446cd",
    },
  },
  {
    name: "get-slashes-normalized",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "//example//",
    },
    header: {
      canonicalRequest:
        "GET\n/example/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\ncb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
      signature:
        "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
    },
    presigned: {
      canonicalRequest:
        "GET\n/example/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n1a3e3fe19998c62136ed2ff9c8531973a46d4a21b336f58e8fcad185ec64d642",
      signature:
        "c1834e8fb0307243711f0f907f6ab7311ed300d87f13792d7ee4da89ab93e082",
    },
  },
  {
    name: "get-slashes-unnormalized",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "//example//",
    },
    normalizePath: false,
    header: {
      canonicalRequest:
        "GET\n//example//\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n528ec3105ee1f34ab014bb0a1a45da0ed2742a4fea3555149e5b4d5d201eb240",
      signature:
        "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5",
    },
    presigned: {
      canonicalRequest:
        "GET\n//example//\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n82241114f9a6320f054333c890952474aa7a0069d28a4326c3a8d95bbecc69ee",
      signature:
        "822a5a9ba28072c5ab2bb4a6307d0c88276d40e49fec6b724c03fb4d4ba60fc2",
    },
  },
  {
    name: "get-space-normalized",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/example space/",
    },
    header: {
      canonicalRequest:
        "GET\n/example%20space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
      signature:
        "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
    },
    presigned: {
      canonicalRequest:
        "GET\n/example%20space/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\ncc3dd817bd405e51225826ec4934a96d065d6af5b6b0163c7a5abbd26a84519e",
      signature:
        "7a1f416954786484c9824d93c1f26ef64acb9b1b6c9154d08c9f07d0e394abf6",
    },
  },
  {
    name: "get-space-unnormalized",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/example space/",
    },
    normalizePath: false,
    header: {
      canonicalRequest:
        "GET\n/example%20space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
      signature:
        "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
    },
    presigned: {
      canonicalRequest:
        "GET\n/example%20space/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\ncc3dd817bd405e51225826ec4934a96d065d6af5b6b0163c7a5abbd26a84519e",
      signature:
        "7a1f416954786484c9824d93c1f26ef64acb9b1b6c9154d08c9f07d0e394abf6",
    },
  },
  {
    name: "get-unreserved",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path":
        "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    },
    header: {
      canonicalRequest:
        "GET\n/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
      signature:
        "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
    },
    presigned: {
      canonicalRequest:
        "GET\n/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n3134f2fbc6ef58f34b74b01643a159bfccbc121ea4288a4b75e65bc805d08219",
      signature:
        "95968482db1b9e0fadef6efc1bd24689f77c77d9ef56919c96a28cc92e0d6005",
    },
  },
  {
    name: "get-utf8",
    request: { "method": "GET", "host": "example.amazonaws.com", "path": "/ሴ" },
    header: {
      canonicalRequest:
        "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
      signature:
        "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
    },
    presigned: {
      canonicalRequest:
        "GET\n/%E1%88%B4\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nd8f78e05d0d9bb1c16ae1e60ed405de76cfb8fdcd3e414ffe65fad563b996d66",
      signature:
        "10eae3f14a260bd3911cc6d008d3c576d143b05b62f09782a7a4b37f52178e44",
    },
  },
  {
    name: "get-vanilla",
    request: { "method": "GET", "host": "example.amazonaws.com", "path": "/" },
    header: {
      canonicalRequest:
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
      signature:
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    },
    presigned: {
      canonicalRequest:
        "GET\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb7705b4aa3cb8e8f5e1e0b3d4c0b64030797a313c8ceee43e33117cc43eadc5",
      signature:
        "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d",
    },
  },
  {
    name: "get-vanilla-empty-query-key",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/",
      "query": [["Param1", "value1"]],
    },
    header: {
      canonicalRequest:
        "GET\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab",
      signature:
        "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
    },
    presigned: {
      canonicalRequest:
        "GET\n/\nParam1=value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n74828b608f939673ed5a839190452a943b0178760f258da766209b21f8ca3f86",
      signature:
        "49096700cbbaa5753443850f40df10f904fc2fdb544dc9512203cc77c471a9de",
    },
  },
  {
    name: "get-vanilla-query-order-encoded",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/",
      "query": [["Param-3", "Value3"], ["Param", "Value2"], ["ሴ", "Value1"]],
    },
    header: {
      canonicalRequest:
        "GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n868294f5c38bd141c4972a373a76654f1418a8e4fc18b2e7903ae45e8ae0ec71",
      signature:
        "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac",
    },
    presigned: {
      canonicalRequest:
        "GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n9808d6cdc8245c74e705c68350fc6a62b91778cdd613890e5d177998c02c6f53",
      signature:
        "c5f1848ceec943ac2ca68ee720460c23aaae30a2300586597ada94c4a65e4787",
    },
  },
  {
    name: "get-vanilla-query-order-key-case",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/",
      "query": [["Param2", "value2"], ["Param1", "value1"]],
    },
    header: {
      canonicalRequest:
        "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
      signature:
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    },
    presigned: {
      canonicalRequest:
        "GET\n/\nParam1=value1&Param2=value2&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nb82878ecb2ab7ad194b9fe79b2946c2a36ee1627a219408089b2d774c1a0cedb",
      signature:
        "86012e2c9ad4d77369f5d81c11f75158aae4f895a085212cc6d3f923d300bed5",
    },
  },
  {
    name: "get-vanilla-query-unreserved",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/",
      "query": [[
        "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
      ]],
    },
    header: {
      canonicalRequest:
        "GET\n/\n-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nc30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
      signature:
        "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
    },
    presigned: {
      canonicalRequest:
        "GET\n/\n-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nc77f27ef2b499fbfee3f0b3c88bba7057b2b31ee9b62047078a5e0d6be91fd58",
      signature:
        "8e76a88a7433637b12778d5592799b29ad21ecd6cf6325051c21d86f0acda2bf",
    },
  },
  {
    name: "get-vanilla-utf8-query",
    request: {
      "method": "GET",
      "host": "example.amazonaws.com",
      "path": "/",
      "query": [["ሴ", "bar"]],
    },
    header: {
      canonicalRequest:
        "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\neb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
      signature:
        "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
    },
    presigned: {
      canonicalRequest:
        "GET\n/\n%E1%88%B4=bar&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nb2e8ae8e48ec880defebc6f6dc1d9fbc9f1856b33146f2943060ca71a50a7a77",
      signature:
        "0bdd809b1519ac4f0c1dc3540e2cc46bd0c7f778eda408b2ebf3b913d21ff600",
    },
  },
  {
    name: "get-vanilla-with-session-token",
    request: { "method": "GET", "host": "example.amazonaws.com", "path": "/" },
    sessionToken:
      "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
    header: {
      canonicalRequest:
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n\nhost;x-amz-date;x-amz-security-token\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
      signature:
        "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
    },
    presigned: {
      canonicalRequest:
        "GET\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-Security-Token=6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\ncb30434103085aa9e73780fc60dc9a9df818fd2a7b1de12a9f6f4d791f898761",
      signature:
        "7ff2b50b376cb4d151970630573d6291dc128cc5c2a12ffb237f73cc53f67b6c",
    },
  },
  {
    name: "post-header-key-sort",
    request: {
      "method": "POST",
      "host": "example.amazonaws.com",
      "path": "/",
      "headers": [["My-Header1", "value1"]],
    },
    header: {
      canonicalRequest:
        "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
      signature:
        "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
    },
    presigned: {
      canonicalRequest:
        "POST\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host%3Bmy-header1\nhost:example.amazonaws.com\nmy-header1:value1\n\nhost;my-header1\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n1295ed77e4ef8b18b32815e493e0b0f78ee47615c0ecbebfec7c75709eb58c88",
      signature:
        "c09d07e0d55871f10f2a6d350d994acf6825a3cae70673d7def55616e6119dd7",
    },
  },
  {
    name: "post-header-value-case",
    request: {
      "method": "POST",
      "host": "example.amazonaws.com",
      "path": "/",
      "headers": [["My-Header1", "VALUE1"]],
    },
    header: {
      canonicalRequest:
        "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nd51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93",
      signature:
        "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
    },
    presigned: {
      canonicalRequest:
        "POST\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host%3Bmy-header1\nhost:example.amazonaws.com\nmy-header1:VALUE1\n\nhost;my-header1\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n9d4d1de88f0149695a91a01275fc72dc00fb50bdc78e424f012ec860d5f8c41d",
      signature:
        "0698bc9e4f7f9139065ba2909c0e99da257e8e2a42492a097bcd46d792391fed",
    },
  },
  {
    name: "post-sts-header-before",
    request: { "method": "POST", "host": "example.amazonaws.com", "path": "/" },
    sessionToken:
      "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==",
    header: {
      canonicalRequest:
        "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\n\nhost;x-amz-date;x-amz-security-token\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nc237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
      signature:
        "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
    },
    presigned: {
      canonicalRequest:
        "POST\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-Security-Token=AQoDYXdzEPT%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI%2FqkPpKPi%2FkMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d%2Bxo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz%2BscqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR%2FoLxBA%3D%3D&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n37f7ba7a2ec89e8b29a0d637bcc70d8e8d0fdba854ddfc5bc06a12398cfe8605",
      signature:
        "46c2e3c63c1dbe7d39f8ada16fe7f001c1f56c5791441565323677f96308871c",
    },
  },
  {
    name: "post-vanilla",
    request: { "method": "POST", "host": "example.amazonaws.com", "path": "/" },
    header: {
      canonicalRequest:
        "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
      signature:
        "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    },
    presigned: {
      canonicalRequest:
        "POST\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nd27fc6fe1afc1d88b248c5ae9194ec0943a693dd6d81d8d815c88a369eb0471e",
      signature:
        "2ce6e6d2e0cf2f9d1b55fafec88cd20574c31dc2e7631979f71ba2310083e95b",
    },
  },
  {
    name: "post-vanilla-query",
    request: {
      "method": "POST",
      "host": "example.amazonaws.com",
      "path": "/",
      "query": [["Param1", "value1"]],
    },
    header: {
      canonicalRequest:
        "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
      signature:
        "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
    },
    presigned: {
      canonicalRequest:
        "POST\n/\nParam1=value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n98241d1c6f938789d34b92e16e08b7fc8fdaa774c5437ba30d505eedae43dd2b",
      signature:
        "a9ef26247f293bffe40eeff86a0480ba8c14d31503b2e0c3399e3a16bf1a3682",
    },
  },
  {
    name: "post-x-www-form-urlencoded",
    request: {
      "method": "POST",
      "host": "example.amazonaws.com",
      "path": "/",
      "headers": [["Content-Type", "application/x-www-form-urlencoded"], [
        "Content-Length",
        "13",
      ]],
      "body": "Param1=value1",
    },
    signBody: true,
    header: {
      canonicalRequest:
        "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\nx-amz-date:20150830T123600Z\n\ncontent-length;content-type;host;x-amz-content-sha256;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nb1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
      signature:
        "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b",
    },
    presigned: {
      canonicalRequest:
        "POST\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n\ncontent-length;content-type;host\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nee5059a7c437165a28d0e775e6498be428761255d657d8c04cb1baa41de6514c",
      signature:
        "89a40deed0f26f9461242825a082d2222717248abc7ab41f552ad84a94ad46e9",
    },
  },
  {
    name: "post-x-www-form-urlencoded-parameters",
    request: {
      "method": "POST",
      "host": "example.amazonaws.com",
      "path": "/",
      "headers": [[
        "Content-Type",
        "application/x-www-form-urlencoded; charset=utf-8",
      ], ["Content-Length", "13"]],
      "body": "Param1=value1",
    },
    signBody: true,
    header: {
      canonicalRequest:
        "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:example.amazonaws.com\nx-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\nx-amz-date:20150830T123600Z\n\ncontent-length;content-type;host;x-amz-content-sha256;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\na89f1a5b53e37702ee6363ce1da3ce8f54386f3c8f352ae652153c2982a0bc4d",
      signature:
        "328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422",
    },
    presigned: {
      canonicalRequest:
        "POST\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:example.amazonaws.com\n\ncontent-length;content-type;host\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
      stringToSign:
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n32192353b8ae6d857fac1c71cda066e6af2d3a3127ea7ac1fee22621ab4f05dc",
      signature:
        "0dbeb9b026c7b6675f266b8427efec9b4fa8b1f6ef1477d717aea231106eab4d",
    },
  },
];

function suiteOptions(vector: Vector) {
  return {
    credentials: { ...SUITE_CREDENTIALS, sessionToken: vector.sessionToken },
    region: SUITE_REGION,
    service: SUITE_SERVICE,
    date: SUITE_DATE,
    normalizePath: vector.normalizePath,
  };
}

/** The signed headers: the canonical request's next-to-last line. */
function signedHeadersOf(canonical: string): string {
  const lines = canonical.split("\n");
  return lines[lines.length - 2];
}

describe("SigV4: the aws-sig-v4-test-suite", () => {
  for (const vector of SUITE) {
    test(`${vector.name}: signed in headers`, async () => {
      const signed = await signRequest(vector.request, {
        ...suiteOptions(vector),
        contentSha256Header: vector.signBody,
      });
      assert.equal(signed.canonicalRequest, vector.header.canonicalRequest);
      assert.equal(signed.stringToSign, vector.header.stringToSign);
      assert.equal(signed.signature, vector.header.signature);
      assert.equal(
        signed.authorization,
        `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=${
          signedHeadersOf(vector.header.canonicalRequest)
        }, Signature=${vector.header.signature}`,
      );
    });

    test(`${vector.name}: presigned`, async () => {
      const presigned = await presignRequest(vector.request, {
        ...suiteOptions(vector),
        expiresIn: 3600,
      });
      assert.equal(
        presigned.canonicalRequest,
        vector.presigned.canonicalRequest,
      );
      assert.equal(presigned.stringToSign, vector.presigned.stringToSign);
      assert.equal(presigned.signature, vector.presigned.signature);
      const url = new URL(presigned.url);
      assert.equal(
        url.searchParams.get("X-Amz-Signature"),
        vector.presigned.signature,
      );
      assert.deepEqual(presigned.query.at(-1), [
        "X-Amz-Signature",
        vector.presigned.signature,
      ]);
    });

    test(`${vector.name}: each step from the expected one before`, async () => {
      for (const expected of [vector.header, vector.presigned]) {
        const scope = credentialScope(SUITE_DATE, SUITE_REGION, SUITE_SERVICE);
        assert.equal(
          await stringToSign(SUITE_DATE, scope, expected.canonicalRequest),
          expected.stringToSign,
        );
        const key = await signingKey(
          SUITE_CREDENTIALS.secretAccessKey,
          SUITE_DATE,
          SUITE_REGION,
          SUITE_SERVICE,
        );
        assert.equal(
          await signature(key, expected.stringToSign),
          expected.signature,
        );
      }
    });
  }

  test("get-vanilla: the presigned URL is the suite's query-signed-request", async () => {
    const presigned = await presignRequest(
      { method: "GET", host: "example.amazonaws.com", path: "/" },
      {
        credentials: SUITE_CREDENTIALS,
        region: SUITE_REGION,
        service: SUITE_SERVICE,
        date: SUITE_DATE,
        expiresIn: 3600,
      },
    );
    // query-signed-request.txt lists the same parameters (in another order).
    const published = new URLSearchParams(
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d",
    );
    const url = new URL(presigned.url);
    assert.equal(url.origin + url.pathname, "https://example.amazonaws.com/");
    assert.deepEqual(
      [...url.searchParams].sort(),
      [...published].sort(),
    );
    assert.deepEqual([...presigned.query].sort(), [...published].sort());
  });

  test("get-vanilla-with-session-token: the header variant sends x-amz-security-token", async () => {
    const token =
      "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
    const signed = await signRequest(
      { method: "GET", host: "example.amazonaws.com" },
      {
        credentials: { ...SUITE_CREDENTIALS, sessionToken: token },
        region: SUITE_REGION,
        service: SUITE_SERVICE,
        date: SUITE_DATE,
      },
    );
    assert.deepEqual(signed.headers, [
      ["x-amz-date", "20150830T123600Z"],
      ["x-amz-security-token", token],
      [
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
      ],
    ]);
  });
});

describe("SigV4: AWS's documented examples", () => {
  test("the signing key of the IAM docs' example (20120215, us-east-1, iam)", async () => {
    const key = await signingKey(
      "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
      new Date("2012-02-15T00:00:00Z"),
      "us-east-1",
      "iam",
    );
    assert.equal(
      Array.from(key, (b) => b.toString(16).padStart(2, "0")).join(""),
      "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d",
    );
  });

  test("the IAM ListUsers example of the SigV4 guide, signed in headers", async () => {
    const signed = await signRequest(
      {
        method: "GET",
        host: "iam.amazonaws.com",
        path: "/",
        query: { Action: "ListUsers", Version: "2010-05-08" },
        headers: {
          "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        },
      },
      {
        credentials: SUITE_CREDENTIALS,
        region: "us-east-1",
        service: "iam",
        date: SUITE_DATE,
      },
    );
    assert.equal(
      signed.canonicalRequest,
      [
        "GET",
        "/",
        "Action=ListUsers&Version=2010-05-08",
        "content-type:application/x-www-form-urlencoded; charset=utf-8",
        "host:iam.amazonaws.com",
        "x-amz-date:20150830T123600Z",
        "",
        "content-type;host;x-amz-date",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      ].join("\n"),
    );
    assert.equal(
      await sha256Hex(signed.canonicalRequest),
      "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59",
    );
    assert.equal(
      signed.stringToSign,
      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59",
    );
    assert.equal(
      signed.authorization,
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
    );
  });

  test("the S3 docs' presigned GET (examplebucket/test.txt, 86400 s)", async () => {
    const presigned = await presignRequest(
      {
        method: "GET",
        host: "examplebucket.s3.amazonaws.com",
        path: "/test.txt",
        payloadHash: "UNSIGNED-PAYLOAD",
      },
      {
        credentials: {
          accessKeyId: "AKIAIOSFODNN7EXAMPLE",
          secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        },
        region: "us-east-1",
        service: "s3",
        date: new Date("2013-05-24T00:00:00Z"),
        expiresIn: 86400,
        normalizePath: false,
      },
    );
    assert.equal(
      presigned.canonicalRequest,
      [
        "GET",
        "/test.txt",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host",
        "host:examplebucket.s3.amazonaws.com",
        "",
        "host",
        "UNSIGNED-PAYLOAD",
      ].join("\n"),
    );
    assert.equal(
      presigned.stringToSign,
      "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04",
    );
    assert.equal(
      presigned.signature,
      "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
    );
    assert.equal(
      presigned.url,
      "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
    );
  });
});

describe("SigV4: the pieces", () => {
  test("amzDate drops milliseconds and writes UTC", () => {
    assert.equal(
      amzDate(new Date("2015-08-30T12:36:00.999Z")),
      "20150830T123600Z",
    );
    assert.equal(
      amzDate(new Date(Date.UTC(2021, 0, 2, 3, 4, 5))),
      "20210102T030405Z",
    );
    assert.throws(() => amzDate(new Date("nope")), TypeError);
  });

  test("uriEncode keeps only the unreserved characters", () => {
    assert.equal(uriEncode("-._~AZaz09"), "-._~AZaz09");
    assert.equal(
      uriEncode("a b+c=d&e/f:g*h!'()"),
      "a%20b%2Bc%3Dd%26e%2Ff%3Ag%2Ah%21%27%28%29",
    );
    assert.equal(uriEncode("/a b/", false), "/a%20b/");
    assert.equal(uriEncode("ሴ"), "%E1%88%B4");
  });

  test("canonicalUri normalizes paths unless told not to", () => {
    assert.equal(canonicalUri(""), "/");
    assert.equal(canonicalUri("/"), "/");
    assert.equal(canonicalUri("/a/./b/../c/"), "/a/c/");
    assert.equal(canonicalUri("/a/b/.."), "/a/");
    assert.equal(canonicalUri("/a//b", false), "/a//b");
  });

  test("canonicalQueryString sorts by encoded name, then value", () => {
    assert.equal(
      canonicalQueryString([["b", "2"], ["a", "z"], ["a", "y"], ["B", "1"]]),
      "B=1&a=y&a=z&b=2",
    );
    assert.equal(canonicalQueryString({ k: ["2", "1"], e: "" }), "e=&k=1&k=2");
    assert.equal(canonicalQueryString(), "");
  });

  test("canonicalHeaders lower-cases, sorts, trims and joins", () => {
    assert.deepEqual(
      canonicalHeaders([["X-B", " two  words "], ["Host", "h"], [
        "x-b",
        "more",
      ]]),
      { canonical: "host:h\nx-b:two words,more\n", signed: "host;x-b" },
    );
  });

  test("canonicalRequest upper-cases the method", () => {
    assert.equal(
      canonicalRequest({
        method: "get",
        headers: { host: "h" },
        payloadHash: "UNSIGNED-PAYLOAD",
      }),
      "GET\n/\n\nhost:h\n\nhost\nUNSIGNED-PAYLOAD",
    );
  });
});

describe("SigV4: bad input", () => {
  const options = {
    credentials: SUITE_CREDENTIALS,
    region: "us-east-1",
    service: "service",
    date: SUITE_DATE,
  };

  test("expiresIn out of range", async () => {
    for (const expiresIn of [0, -1, 1.5, 604801, Number.NaN]) {
      await assert.rejects(
        presignRequest({ method: "GET", host: "h" }, { ...options, expiresIn }),
        (error: Error) =>
          error instanceof TypeError && /"expiresIn"/.test(error.message),
      );
    }
  });

  test("a host header, an empty host, missing credentials", async () => {
    await assert.rejects(
      signRequest(
        { method: "GET", host: "h", headers: { Host: "x" } },
        options,
      ),
      /must not hold "host"/,
    );
    await assert.rejects(
      signRequest({ method: "GET", host: "" }, options),
      /"host" must be a non-empty string/,
    );
    await assert.rejects(
      signRequest({ method: "GET", host: "h" }, {
        ...options,
        credentials: { accessKeyId: "AKID", secretAccessKey: "" },
      }),
      /"credentials.secretAccessKey" must be a non-empty string, got string/,
    );
    await assert.rejects(
      signRequest({ method: "GET", host: "h" }, { ...options, region: "" }),
      /"region" must be a non-empty string/,
    );
  });

  test("errors never print the secret", async () => {
    const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    await assert.rejects(
      signRequest({ method: "GET", host: "h" }, {
        ...options,
        credentials: { accessKeyId: "", secretAccessKey: secret },
      }),
      (error: Error) => !error.message.includes(secret),
    );
  });
});
