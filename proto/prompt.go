package proto

// ClientPrompt is a call at a client (fakessh): ask its user what ssh, sudo or su would ask on
// the terminal, the way ssh's read_passphrase does (on /dev/tty, else through SSH_ASKPASS as
// SSH_ASKPASS_REQUIRE says). The daemon calls the client whose call needs the answer, and only
// the daemon (proto.Root) may call it. A refusal (no terminal, no askpass, the user gave up) is
// an error reply whose text is what ssh would print.
const ClientPrompt uint32 = 31

// PromptRequest is one question for the user.
type PromptRequest struct {
	// Prompt is printed as it is: "alice@10.0.0.1's password: ", "[sudo] password for alice: ".
	Prompt string `json:"prompt"`
	// Echo shows what is typed (keyboard-interactive prompts may ask for it).
	Echo bool `json:"echo,omitempty"`
	// Messages are log messages to print on stderr before asking, one line each as ssh's log
	// prints them: "Permission denied, please try again." between password tries, a
	// keyboard-interactive request's name and instruction. They come before the prompt so
	// that they show in ssh's order.
	Messages []string `json:"messages,omitempty"`
	// Become says a become method on the target asks (sudo, su, doas starting a context),
	// not SSH: a client that reads such answers from its standard input (ConnectRequest.
	// StdinPrompt) answers it there. The daemon sets it; an agent's word is not taken.
	Become bool `json:"become,omitempty"`
}

// PromptReply is the user's answer, without the newline that ended it.
type PromptReply struct {
	Answer string `json:"answer"`
	// NoAnswer: there is none to give (the caller cannot prompt, or its user ended the input);
	// the asking command sees end of input and says so in its own words.
	NoAnswer bool `json:"no_answer,omitempty"`
}
