package snpsim

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
)

// The simulated ARK and ASK are RSA-4096 keys, like AMD's, and sign with
// RSASSA-PSS/SHA-384 (salt 48), like AMD's; verifiers check that algorithm.
// Their primes are fixed here rather than derived from the seed: seeded
// RSA key generation costs seconds (a prime search on big.Int), which would
// break the one-second demo. These private keys are public by design: the
// simulated CA is NOT a secret and NOT AMD; it is trusted only where a
// verifier is explicitly told to accept it as a test root.

func rsaKey(name, ph, qh string) (*rsa.PrivateKey, error) {
	p, ok1 := new(big.Int).SetString(ph, 16)
	q, ok2 := new(big.Int).SetString(qh, 16)
	if !ok1 || !ok2 {
		return nil, errors.New("snpsim: bad embedded prime")
	}
	one := big.NewInt(1)
	phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
	e := big.NewInt(65537)
	d := new(big.Int).ModInverse(e, phi)
	if d == nil {
		return nil, fmt.Errorf("snpsim: %s key: e not invertible", name)
	}
	k := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537},
		D:         d,
		Primes:    []*big.Int{p, q},
	}
	k.Precompute()
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("snpsim: %s key: %w", name, err)
	}
	return k, nil
}

const arkP = "" +
	"cb72078f92cca371e0ce5da3618f496eb81e8b62833edfeb001e6a2a27ba0c48a5f81eaf4f07e56f072577de61c20bd5" +
	"7b3365f04d5e6a4188325fd3f450b3d5878a7aaeedf4006345dd01f0dc755bd7e6a3c537f3f96569796a5033291c3d18" +
	"4f7d364ef0896a0dea92b423c4feb6164183ff483b628235b876aaac201a142cc3926e3b239723ee4763d71bed55970a" +
	"fa160589bbe0e933e89dd69481cedbae8278e918a83e1ce620bcebda064939dbe1ae190f539475b18138938cacc3bc5b" +
	"6b5d630765a5e2b7b437078eaec83cd03902cfd40b11ac3c80bceca24c21d213233b5cd6f30cb7d37b2f9eb71420d34e" +
	"22979f01359cf20b2386e91baf3d653d"

const arkQ = "" +
	"c4fbb17040cbc9904ae097558d7837cfeddceaadffe0477cc4ffe8a832c93d0ae5d1a9f24b8a7c91e6db6054e6ba5905" +
	"2c7effbf0150a6741c0094559158ce1c47806a18bfd59557194bbdaf79050c309a24a9f8d529466aedb59dd9cfd0f564" +
	"a51b30372e588aac191ab862a217b6e40bc9b4de88d93b963eded2f01f5a48c0587594c21e8aad2509955c221ee98f19" +
	"3c482eecf7355a76121329733f29c2dd7437dae7bfb3ddbd691a4027ab90cca19650a9d187383cbc5d16642aa59df9df" +
	"2e8212493d2ea24ab9c68b6fd5b424faaa74ad8673d16d7ea5d51082b9e770d0ad0fbdf4bade60dd96307c655f655f66" +
	"1a3376562a4a0c8aa3122ec22becfd1f"

const askP = "" +
	"e315bd1b39697e9a15dcfa6ca89001b469d6485598e02b2caf4ab4b152f9f163d42e8ae9534f1d7979b1489660cb5aa9" +
	"1616a2f16932b5dabd0ab25b5eca32cf15c366ef7b71c06db5774c5847b4f8562f176cab6f92fb0c7468519bafb5377e" +
	"276587234ac1ab9e7bc8f3a4178bc0d173a4756bd7586b8020fdf7e1667bdb6d5ad033f2e50844d3dd910ac9427ac056" +
	"62310f3eba7e463ad5bb1e65ec1700f94828bf232c2e9c295cb51d5cc0b707fe34c256f1f45b3832f02f2b4a653220ec" +
	"acdd16665bf178d0d8b6008bf6470f21d429d110f0d143a1e052005e4fedc258bf848ba3118cb5f7b3ff25e7674b7ce6" +
	"8a30bf16acb811d041542005c1140009"

const askQ = "" +
	"e7599120cca3c4cc62abe317027caa7094a54301d84faca9ca267c9b21638536318be21f488c5c322762db171034286c" +
	"954d1fead21d7ea12e60608e1ad22cde808518190d8f134f0b30962236f0b641706e1478a97f55b28f7a57e18962f109" +
	"394931370f022a031461a589a3eb1404f0b69f43d996e41b67db239330ebd80fda4d6c7b4104f390c1337405270e82f8" +
	"c46b5413e1504f0c5ec2ce0127f304a850074245ce2656392c561ce3b55c26096b2cb52d50af6772c367e8cdd8e228d3" +
	"2d7bb225531aac166aecaf222deb50c132cee1c9f9fa0a634c0b6a02efef08cf3ccd5a4677875904255ecb92709eaaa1" +
	"323b9a1a5644f574c0dacd7c1cc9104f"
